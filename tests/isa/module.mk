# Bare-metal guest programs (ISA tests), built with Debian's riscv64 cross
# toolchain.  Each tests/isa/*.S (or *.c, which must define test_main) is
# one test program, linked with tests/isa/common/crt.S (entry, HTIF, trap
# framework) and tests/isa/common/link.ld.  See tests/isa/README.md.
RV_CC      ?= riscv64-unknown-elf-gcc
GUEST      := build/guest
ISA_ARCH   := rv64gc_zba_zbb_zbs_zicsr_zifencei
RV_CFLAGS  := -march=$(ISA_ARCH) -mabi=lp64d -nostdlib -nostartfiles -static \
              -mcmodel=medany -mno-relax -Wl,--no-relax -Wl,--no-warn-rwx-segments \
              -Itests/isa/common \
              -T tests/isa/common/link.ld
RV_CCFLAGS := -O2 -ffreestanding -fno-builtin -Wall
ISA_CRT    := tests/isa/common/crt.S
ISA_SRCS   := $(sort $(wildcard tests/isa/*.S))
ISA_CSRCS  := $(sort $(wildcard tests/isa/*.c))
ISA_ELFS   := $(ISA_SRCS:tests/isa/%.S=$(GUEST)/isa/%.elf) \
              $(ISA_CSRCS:tests/isa/%.c=$(GUEST)/isa/%.elf)
ISA_DEPS   := $(wildcard tests/isa/common/*) tests/isa/module.mk

$(GUEST)/isa/%.elf: tests/isa/%.S $(ISA_DEPS)
	@mkdir -p $(dir $@)
	$(RV_CC) $(RV_CFLAGS) -o $@ $(ISA_CRT) $<

$(GUEST)/isa/%.elf: tests/isa/%.c $(ISA_DEPS)
	@mkdir -p $(dir $@)
	$(RV_CC) $(RV_CFLAGS) $(RV_CCFLAGS) -o $@ $(ISA_CRT) $<

guests: $(ISA_ELFS)
