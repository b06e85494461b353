# Bare-metal guest programs that unit tests run through the vmm/ API (the
# multi-hart program under tests/unit/test_mem_lease.c).  Linked with the
# ISA tests' link script but with their own entry code: every hart runs
# them, where the ISA harness parks all harts but the first.
UNIT_GUEST_SRCS := $(sort $(wildcard tests/unit/guest/*.S))
UNIT_GUEST_ELFS := $(UNIT_GUEST_SRCS:tests/unit/guest/%.S=$(GUEST)/unit/%.elf)

$(GUEST)/unit/%.elf: tests/unit/guest/%.S $(ISA_DEPS) tests/unit/module.mk
	@mkdir -p $(dir $@)
	$(RV_CC) $(RV_CFLAGS) -o $@ $<

guests: $(UNIT_GUEST_ELFS)
