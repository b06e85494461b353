/* hw: the platform devices of the "virt" board: CLINT, PLIC, NS16550A UART,
 * sifive,test (poweroff/reboot), goldfish RTC, and the HTIF tohost/fromhost
 * words of bare-metal test programs.
 *
 * Layering: hw/ sits beside cpu/ and knows nothing about harts.  Each device
 * drives abstract interrupt outputs (callbacks) that the board (machine/)
 * wires to hart_set_irq() or to a PLIC source.  Guest registers are reached
 * through the `struct mmio_ops` each device exports; the board registers them
 * with mem_add_mmio().  MMIO callbacks get an offset from the window's base,
 * never an absolute address.
 *
 * Design rule 4: every bit of device state is in the device's struct; there
 * is no global state, so any number of VMs may live in one process.
 *
 * Each device also implements struct device_ops (util/device.h), exported
 * as <device>_device_ops with the device's struct as opaque: reset to the
 * power-on state, save/restore of all its guest-visible state as one
 * versioned section (tag = the device's name; layouts in each .c file and
 * docs/machine.md), its device-tree node, destroy (= <device>_free).
 * quiesce/resume are NULL: these devices never have work in flight.
 * After a restore or reset a device re-drives every interrupt output it
 * has, whatever level it drove before, so the harts' wires and PLIC inputs
 * follow the restored state.  Where a device sits (base address, PLIC
 * source) is the board's business (machine/), not the device's: only the
 * size of each register window is defined here.
 *
 * Threads: every function here may be called from any thread.  Each device
 * has one mutex.  Interrupt callbacks are called with the device's mutex held
 * (so level changes reach the sink in order); lock order is
 *     uart / rtc  ->  plic  ->  the hart (leaf: hart_set_irq takes no lock
 *                                          that leads back here)
 * and clint -> hart.  A sink must therefore never call back into the device
 * that raised it.  Console output callbacks are also called under the
 * device's mutex (keeps bytes in order). */
#ifndef VESSEL_HW_H
#define VESSEL_HW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mem/mem.h"
#include "util/device.h"
#include "util/vclock.h"

/* Interrupt wires of a hart: bit numbers in mip (Privileged spec 3.1.9).
 * Same values as cpu/riscv's IRQ_*; hw/ does not include cpu headers, the
 * board checks the two agree at compile time. */
enum {
    HW_IRQ_MSI = 3,     /* machine software interrupt (CLINT msip) */
    HW_IRQ_MTI = 7,     /* machine timer interrupt (CLINT mtimecmp) */
    HW_IRQ_SEI = 9,     /* supervisor external interrupt (PLIC ctx 2h+1) */
    HW_IRQ_MEI = 11,    /* machine external interrupt (PLIC ctx 2h) */
};

/* A per-hart interrupt output: drive wire `irq_bit` (HW_IRQ_*) of hart
 * `hart` to `level`.  Called with the device mutex held, from any thread. */
struct hw_irq_sink {
    void (*set_irq)(void *opaque, unsigned hart, unsigned irq_bit, bool level);
    void *opaque;
};

/* A single interrupt line into an interrupt controller (a PLIC source). */
struct hw_line {
    void (*set)(void *opaque, unsigned line, bool level);
    void *opaque;
    unsigned line;
};

/* Byte sink for console output.  May be NULL (output discarded). */
struct hw_console {
    void (*out)(void *opaque, const uint8_t *buf, size_t len);
    void *opaque;
};

/* Shutdown requests (sifive,test and HTIF). */
enum hw_shutdown {
    HW_RUNNING = 0,
    HW_POWEROFF = 1,    /* exit code alongside: 0 pass, else failure code */
    HW_REBOOT = 2,
};

/* Called once when a device records a shutdown request (with its mutex
 * held), so the board can kick harts out of WFI.  May be NULL. */
struct hw_notify {
    void (*fn)(void *opaque);
    void *opaque;
};

/* ---------------------------------------------------------------- CLINT */

/* SiFive CLINT (the core-local interruptor as documented in the SiFive
 * FU540 manual, ch. 9, and the RISC-V ACLINT spec's MSWI/MTIMER layout):
 *   0x0000 + 4*h   msip[h]      bit 0 drives hart h's MSIP (IRQ_MSI)
 *   0x4000 + 8*h   mtimecmp[h]  MTIP (IRQ_MTI) = mtime >= mtimecmp[h]
 *   0xbff8         mtime        64-bit: the VM clock; a write moves the
 *                               clock's offset, so `time` follows it
 * 32-bit and 64-bit naturally aligned accesses (and byte lanes within an
 * 8-byte word).  Reset: msip 0, mtimecmp UINT64_MAX (no timer armed). */
#define CLINT_SIZE      0x10000ULL
#define CLINT_MAX_HARTS 4095

struct clint;

/* Create a CLINT for `nharts` harts (1..CLINT_MAX_HARTS) whose mtime is
 * `clock` (borrowed; must outlive the CLINT; guest writes to mtime change
 * clock->offset_ticks, with a relaxed atomic store).  `sink` is copied.
 * Returns NULL on allocation failure or a bad nharts.  Free with
 * clint_free(). */
struct clint *clint_new(unsigned nharts, struct vclock *clock,
                        const struct hw_irq_sink *sink);
void clint_free(struct clint *c);
extern const struct mmio_ops clint_mmio_ops;

/* Recompute every hart's MTIP from mtime vs mtimecmp and drive the sink on
 * changes.  Cheap; the board calls it between vCPU slices. */
void clint_update(struct clint *c);

/* Guest time in ticks (comparable with vclock_now(clock), suitable for
 * vclock_ns_until) at which hart `hart`'s MTIP will rise.  UINT64_MAX when no timer is armed, MTIP is already
 * raised, or hart is out of range. */
uint64_t clint_next_deadline(struct clint *c, unsigned hart);

/* mtime as the guest reads it at 0xbff8 (ticks). */
uint64_t clint_mtime(struct clint *c);

/* Section "clint": msip and mtimecmp of every hart.  Not mtime: that is
 * the VM clock, saved by the board as its own section. */
extern const struct device_ops clint_device_ops;

/* ----------------------------------------------------------------- PLIC */

/* RISC-V Platform-Level Interrupt Controller (RISC-V PLIC Specification
 * 1.0.0, ch. 3-9 register map):
 *   0x000000 + 4*s        priority of source s (1..PLIC_NSOURCES-1), 0..7
 *   0x001000 + 4*(s/32)   pending bits (read-only)
 *   0x002000 + 0x80*c     enable bits of context c, 32 sources per word
 *   0x200000 + 0x1000*c   priority threshold of context c
 *   0x200004 + 0x1000*c   claim (read) / complete (write)
 * Context 2h is hart h's M-mode external interrupt (HW_IRQ_MEI), context
 * 2h+1 its S-mode one (HW_IRQ_SEI).  Sources are level-triggered: the
 * gateway forwards a request while the line is high and no earlier request
 * of that source is in service; a claim clears the pending bit, the
 * completion reopens the gateway.  Accesses are 32-bit; others read 0 and
 * writes are ignored, as are offsets outside the map. */
#define PLIC_SIZE      0x600000ULL
#define PLIC_NSOURCES  96           /* source ids 0..95; 0 means "none" */
#define PLIC_MAX_PRIO  7
#define PLIC_MAX_HARTS 512          /* 2 contexts each fit in PLIC_SIZE */

struct plic;

/* Create a PLIC for `nharts` harts (2 contexts each).  `sink` is copied.
 * Returns NULL on allocation failure or nharts not in 1..PLIC_MAX_HARTS. */
struct plic *plic_new(unsigned nharts, const struct hw_irq_sink *sink);
void plic_free(struct plic *p);
extern const struct mmio_ops plic_mmio_ops;

/* Drive input line `src` (1..PLIC_NSOURCES-1) to `level` (spec ch. 5,
 * level-triggered gateway).  Any thread.  Out-of-range sources are ignored.
 * Signature matches struct hw_line's `set`, so a device's line can point
 * straight at it with the plic as opaque. */
void plic_set_source(void *plic, unsigned src, bool level);

/* Section "plic": priorities, input levels, pending and in-service bits,
 * each context's enables and threshold.  Reset keeps the input levels
 * (the wires are the sources' business) and clears everything else. */
extern const struct device_ops plic_device_ops;

/* ----------------------------------------------------------------- UART */

/* NS16550A UART (TI PC16550D datasheet, register names as there):
 *   0 RBR (r) / THR (w) / DLL (DLAB=1)    1 IER / DLM (DLAB=1)
 *   2 IIR (r) / FCR (w)   3 LCR   4 MCR   5 LSR   6 MSR   7 SCR
 * 16-byte receive FIFO behind which up to UART_RX_BUFFER bytes of host
 * input wait.  Transmission is instant: THR is always empty again after a
 * write, so LSR THRE/TEMT stay set and the THRE interrupt re-arms after
 * every THR write and whenever IER.ETBEI goes from 0 to 1.  Loopback
 * (MCR bit 4) returns written bytes to the receiver and mirrors the modem
 * control bits into MSR.  Byte accesses; wider accesses use the low byte.
 * The interrupt output is level: high while IIR reports an interrupt. */
#define UART_SIZE      0x100ULL
#define UART_CLOCK_HZ  3686400
#define UART_FIFO_SIZE 16
#define UART_RX_BUFFER 4096

struct uart;

/* Create a UART.  `irq` and `console` are copied (NULL members allowed).
 * Returns NULL on allocation failure. */
struct uart *uart_new(const struct hw_line *irq, const struct hw_console *console);
void uart_free(struct uart *u);
extern const struct mmio_ops uart_mmio_ops;

/* Queue host input for the receiver (any thread).  Returns the number of
 * bytes accepted (fewer than len when the UART_RX_BUFFER is full; the rest
 * is dropped by the caller's choice). */
size_t uart_input(struct uart *u, const uint8_t *buf, size_t len);

/* Section "uart": the registers and the receive buffer (FIFO plus host
 * input not yet read).  Reset empties the buffer. */
extern const struct device_ops uart_device_ops;

/* ------------------------------------------------------ sifive,test */

/* SiFive test finisher (QEMU's "sifive,test0"/"sifive,test1" device, as
 * used by Linux's syscon-poweroff / syscon-reboot drivers):
 *   0x0  FINISHER (write, 32-bit): low 16 bits 0x5555 = pass (poweroff,
 *        exit 0), 0x3333 = fail with exit code value >> 16 (0 becomes 1),
 *        0x7777 = reset.  Other values are ignored.  Reads return 0. */
#define SYSCON_SIZE       0x1000ULL
#define SYSCON_FAIL       0x3333
#define SYSCON_PASS       0x5555
#define SYSCON_RESET      0x7777

struct syscon;

/* `notify` (copied, may be NULL) is called once on the first request. */
struct syscon *syscon_new(const struct hw_notify *notify);
void syscon_free(struct syscon *s);
extern const struct mmio_ops syscon_mmio_ops;

/* HW_RUNNING, HW_POWEROFF (exit code in *code) or HW_REBOOT. */
enum hw_shutdown syscon_state(struct syscon *s, int *code);

/* Section "syscon": the request recorded (state and exit code).  Reset
 * forgets it (a guest reboot starts running again). */
extern const struct device_ops syscon_device_ops;

/* ---------------------------------------------------------- goldfish RTC */

/* Goldfish RTC (Android emulator "goldfish" timer/RTC, Linux
 * drivers/rtc/rtc-goldfish.c):
 *   0x00 TIME_LOW    read: latch the time, return its low 32 bits;
 *                    write: set the low half (takes effect, with the last
 *                    TIME_HIGH written, as the new time)
 *   0x04 TIME_HIGH   read: high 32 bits latched by the TIME_LOW read
 *   0x08 ALARM_LOW   write: low half of the alarm time, arms the alarm
 *   0x0c ALARM_HIGH  write: high half of the next alarm
 *   0x10 IRQ_ENABLED 1 = alarm raises the interrupt
 *   0x14 CLEAR_ALARM write: disarm
 *   0x18 ALARM_STATUS read: 1 while armed
 *   0x1c CLEAR_INTERRUPT write: lower the interrupt
 * Time is nanoseconds since the Unix epoch: the host's realtime clock plus
 * a per-device offset changed by guest writes.  The alarm is checked on
 * every access and by rtc_update(). */
#define RTC_SIZE 0x1000ULL

struct rtc;

/* `now_ns` supplies host wall time in ns since the epoch (NULL: the
 * CLOCK_REALTIME clock); tests pass a fake.  `irq` is copied. */
struct rtc *rtc_new(const struct hw_line *irq,
                    uint64_t (*now_ns)(void *opaque), void *now_opaque);
void rtc_free(struct rtc *r);
extern const struct mmio_ops rtc_mmio_ops;

/* Fire the alarm if it is due (cheap; called between vCPU slices). */
void rtc_update(struct rtc *r);

/* Section "rtc": the guest's offset from host wall time (so a restored
 * RTC keeps following real time, as a battery-backed clock would), the
 * latches, the alarm and the interrupt state.  Reset goes back to host
 * wall time, as QEMU's goldfish RTC does. */
extern const struct device_ops rtc_device_ops;

/* ---------------------------------------------------------------- HTIF */

/* Berkeley HTIF as implemented by spike/riscv-fesvr: two 64-bit words in
 * guest RAM, `tohost` and `fromhost`, found in the program's symbol table.
 * A command is dev[63:56] cmd[55:48] payload[47:0] written to tohost:
 *   dev 0 cmd 0, payload bit 0 = 1: halt; exit code payload >> 1
 *   dev 1 cmd 1: write the payload's low byte to the console, then
 *                fromhost = dev 1 | cmd 1 | 0x100 | byte (spike's answer)
 * other commands are ignored.  After a command tohost reads 0 again.
 * A 64-bit store issues the command at once; with two 32-bit stores the
 * command is issued when both halves have been written (either order), as
 * riscv-tests does with `sw lo; sw hi`. */
#define HTIF_WORD 8

struct htif;

/* `console`, `notify` copied (may be NULL members). */
struct htif *htif_new(const struct hw_console *console, const struct hw_notify *notify);
void htif_free(struct htif *h);
/* Register with mem_add_mmio(mem, tohost_gpa, HTIF_WORD, &htif_tohost_ops,
 * h) and likewise fromhost. */
extern const struct mmio_ops htif_tohost_ops;
extern const struct mmio_ops htif_fromhost_ops;

/* HW_RUNNING or HW_POWEROFF with the exit code in *code. */
enum hw_shutdown htif_state(struct htif *h, int *code);

/* Section "htif": tohost, fromhost, the halves of tohost written so far
 * and the halt request.  No device-tree node (fdt_node NULL). */
extern const struct device_ops htif_device_ops;

#endif
