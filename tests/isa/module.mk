# Bare-metal guest programs (ISA tests), built with Debian's riscv64 cross
# toolchain.  Each tests/isa/*.S is one test program; common code lives in
# tests/isa/common/.
RV_CC      ?= riscv64-unknown-elf-gcc
GUEST      := build/guest
RV_CFLAGS  := -march=rv64gc -mabi=lp64d -nostdlib -nostartfiles -static \
              -mcmodel=medany -Itests/isa/common -T tests/isa/common/link.ld
ISA_SRCS   := $(sort $(wildcard tests/isa/*.S))
ISA_ELFS   := $(ISA_SRCS:tests/isa/%.S=$(GUEST)/isa/%.elf)

$(GUEST)/isa/%.elf: tests/isa/%.S $(wildcard tests/isa/common/*)
	@mkdir -p $(dir $@)
	$(RV_CC) $(RV_CFLAGS) -o $@ $<

guests: $(ISA_ELFS)
