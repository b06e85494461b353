# Benchmarks' guest programs (built with the riscv64 cross toolchain).
BENCH_CFLAGS := -O2 -march=rv64gc -mabi=lp64d -mcmodel=medany -nostdlib \
                -nostartfiles -static -ffreestanding -T bench/cpu/link.ld

$(GUEST)/bench/cpu.elf: bench/cpu/crt.S bench/cpu/bench.c bench/cpu/htif.h bench/cpu/link.ld
	@mkdir -p $(dir $@)
	$(RV_CC) $(BENCH_CFLAGS) -o $@ bench/cpu/crt.S bench/cpu/bench.c

$(GUEST)/bench/cpu-long.elf: bench/cpu/crt.S bench/cpu/bench.c bench/cpu/htif.h bench/cpu/link.ld
	@mkdir -p $(dir $@)
	$(RV_CC) $(BENCH_CFLAGS) -DROUNDS=600 -o $@ bench/cpu/crt.S bench/cpu/bench.c

guests: $(GUEST)/bench/cpu.elf $(GUEST)/bench/cpu-long.elf

# Floating-point kernels (bench/cpu/fp.sh); -fno-math-errno: sqrt is the
# instruction, not a libm call that sets errno.
$(GUEST)/bench/fp.elf: bench/cpu/crt.S bench/cpu/fp.c bench/cpu/htif.h bench/cpu/link.ld
	@mkdir -p $(dir $@)
	$(RV_CC) $(BENCH_CFLAGS) -fno-math-errno -o $@ bench/cpu/crt.S bench/cpu/fp.c

guests: $(GUEST)/bench/fp.elf

# Integer crypto kernels (bench/cpu/crypto.sh): SHA-256, bignum products.
$(GUEST)/bench/crypto.elf: bench/cpu/crt.S bench/cpu/crypto.c bench/cpu/htif.h bench/cpu/link.ld
	@mkdir -p $(dir $@)
	$(RV_CC) $(BENCH_CFLAGS) -o $@ bench/cpu/crt.S bench/cpu/crypto.c

guests: $(GUEST)/bench/crypto.elf
