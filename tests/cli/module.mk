# Bare-metal guest programs used by the tests/cli suites (the console that
# nobody reads, the guest that floods the host's log).  Built with the ISA
# harness (tests/isa/common: crt.S, link.ld) like the ISA tests, but not
# run as ISA tests.
CLI_GUEST_SRCS := $(sort $(wildcard tests/cli/guest/*.S tests/cli/guest/*.c))
CLI_GUEST_ELFS := $(patsubst tests/cli/guest/%,$(GUEST)/cli/%.elf,$(basename $(CLI_GUEST_SRCS)))

$(GUEST)/cli/%.elf: tests/cli/guest/%.S $(ISA_DEPS)
	@mkdir -p $(dir $@)
	$(RV_CC) $(RV_CFLAGS) -o $@ $(ISA_CRT) $<

$(GUEST)/cli/%.elf: tests/cli/guest/%.c $(ISA_DEPS)
	@mkdir -p $(dir $@)
	$(RV_CC) $(RV_CFLAGS) $(RV_CCFLAGS) -o $@ $(ISA_CRT) $<

guests: $(CLI_GUEST_ELFS)
