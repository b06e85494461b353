/* NS16550A UART (TI PC16550D datasheet; register and bit names as there).
 *
 *   off DLAB=0 read  DLAB=0 write  DLAB=1
 *   0   RBR          THR           DLL
 *   1   IER          IER           DLM
 *   2   IIR          FCR
 *   3   LCR   4 MCR   5 LSR (read)   6 MSR (read)   7 SCR
 *
 * Interrupt identification (IIR bits 3:0, highest priority first):
 *   0110 receiver line status (LSR OE/PE/FE/BI)   IER.ELSI
 *   0100 received data available (>= FIFO trigger) IER.ERBFI
 *   1100 character timeout (data below trigger)    IER.ERBFI
 *   0010 THR empty                                 IER.ETBEI
 *   0000 modem status (MSR delta bits)             IER.EDSSI
 *   0001 none
 * Our receiver never sees line errors and data never waits for a timeout:
 * any byte in the FIFO below the trigger level reports "character timeout"
 * at once, which is what drivers expect when input trickles in.
 *
 * Saved state, section "uart" version 1:
 *   u8 IER, LCR, MCR, SCR, FCR (as stored: the reset bits 1-2 clear),
 *   DLL, DLM, MSR, the latched LSR error bits, THRE interrupt armed (0/1);
 *   u32 n, then the n received bytes not yet read (FIFO first, then host
 *   buffering), n <= UART_RX_BUFFER.
 * A restore refuses bits no register write can set (IER 7:4, MCR 7:5,
 * FCR 2:1, LSR bits other than the error ones) and an MSR whose status
 * half does not follow MCR (loopback mirrors MCR, otherwise the line
 * reads connected).  The interrupt output is derived, not saved. */
#include "hw/hw.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "hw/dt.h"

#define UART_RBR 0      /* receiver buffer (read, DLAB=0) */
#define UART_THR 0      /* transmitter holding (write, DLAB=0) */
#define UART_DLL 0      /* divisor latch LSB (DLAB=1) */
#define UART_IER 1
#define UART_DLM 1      /* divisor latch MSB (DLAB=1) */
#define UART_IIR 2      /* read */
#define UART_FCR 2      /* write */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define IER_ERBFI 0x01
#define IER_ETBEI 0x02
#define IER_ELSI  0x04
#define IER_EDSSI 0x08
#define IER_MASK  0x0f

#define IIR_NONE     0x01
#define IIR_RLS      0x06
#define IIR_RDA      0x04
#define IIR_CTI      0x0c
#define IIR_THRE     0x02
#define IIR_MS       0x00
#define IIR_FIFO_ON  0xc0

#define FCR_FIFOE    0x01
#define FCR_RFIFOR   0x02
#define FCR_XFIFOR   0x04
#define FCR_RTRIG(v) (((v) >> 6) & 3)

#define FCR_STORED_MASK ((uint8_t)~(FCR_RFIFOR | FCR_XFIFOR))

#define LCR_DLAB 0x80

#define MCR_DTR  0x01
#define MCR_RTS  0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f

#define LSR_DR   0x01
#define LSR_OE   0x02
#define LSR_BI   0x10
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define LSR_ERR  0x1e

#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_CTS  0x10
#define MSR_DSR  0x20
#define MSR_RI   0x40
#define MSR_DCD  0x80
#define MSR_DELTA 0x0f

/* Modem status seen with no loopback: the line is "connected". */
#define MSR_IDLE (MSR_DCD | MSR_DSR | MSR_CTS)
#define MSR_STATUS 0xf0

#define UART_STATE_VERSION 1

struct uart {
    pthread_mutex_t lock;
    struct hw_line irq;
    struct hw_console console;
    bool irq_level;
    uint8_t ier, lcr, mcr, lsr_err, msr, scr, fcr, dll, dlm;
    bool thre_pending;          /* THRE interrupt armed, not yet identified */
    /* Receive FIFO: the first UART_FIFO_SIZE bytes of this ring are the
     * 16550's FIFO, the rest is host-side buffering. */
    uint8_t rx[UART_RX_BUFFER];
    size_t rx_head, rx_count;
};

static const uint8_t rx_trigger[4] = { 1, 4, 8, 14 };

static size_t fifo_level(const struct uart *u)
{
    size_t fifo = (u->fcr & FCR_FIFOE) ? UART_FIFO_SIZE : 1;
    return MIN(u->rx_count, fifo);
}

/* Current interrupt identification (lock held), IIR bits 3:0. */
static uint8_t ident(const struct uart *u)
{
    if ((u->ier & IER_ELSI) && (u->lsr_err & LSR_ERR))
        return IIR_RLS;
    if ((u->ier & IER_ERBFI) && u->rx_count) {
        size_t trig = (u->fcr & FCR_FIFOE) ? rx_trigger[FCR_RTRIG(u->fcr)] : 1;
        return fifo_level(u) >= trig ? IIR_RDA : IIR_CTI;
    }
    if ((u->ier & IER_ETBEI) && u->thre_pending)
        return IIR_THRE;
    if ((u->ier & IER_EDSSI) && (u->msr & MSR_DELTA))
        return IIR_MS;
    return IIR_NONE;
}

/* Drive the interrupt output from the state: on a change, or with `all`
 * whatever was driven before (after a reset or restore).  Lock held. */
static void drive_irq(struct uart *u, bool all)
{
    bool level = ident(u) != IIR_NONE;
    if (all || level != u->irq_level) {
        u->irq_level = level;
        if (u->irq.set)
            u->irq.set(u->irq.opaque, u->irq.line, level);
    }
}

static void update_irq(struct uart *u)
{
    drive_irq(u, false);
}

/* The power-on state (lock held; outputs not driven). */
static void power_on(struct uart *u)
{
    u->ier = u->lcr = u->mcr = u->lsr_err = u->scr = u->fcr = 0;
    u->dll = u->dlm = 0;
    u->msr = MSR_IDLE;
    u->thre_pending = false;
    u->rx_head = u->rx_count = 0;
}

struct uart *uart_new(const struct hw_line *irq, const struct hw_console *console)
{
    struct uart *u = calloc(1, sizeof(*u));
    if (!u)
        return NULL;
    pthread_mutex_init(&u->lock, NULL);
    if (irq)
        u->irq = *irq;
    if (console)
        u->console = *console;
    power_on(u);
    return u;
}

void uart_free(struct uart *u)
{
    if (!u)
        return;
    pthread_mutex_destroy(&u->lock);
    free(u);
}

static size_t rx_push(struct uart *u, const uint8_t *buf, size_t len)
{
    size_t n = 0;
    while (n < len && u->rx_count < UART_RX_BUFFER) {
        u->rx[(u->rx_head + u->rx_count) % UART_RX_BUFFER] = buf[n++];
        u->rx_count++;
    }
    return n;
}

size_t uart_input(struct uart *u, const uint8_t *buf, size_t len)
{
    pthread_mutex_lock(&u->lock);
    size_t n = rx_push(u, buf, len);
    update_irq(u);
    pthread_mutex_unlock(&u->lock);
    return n;
}

/* MSR's status half as MCR leaves it (loopback mirrors MCR). */
static uint8_t loop_msr(uint8_t mcr)
{
    uint8_t m = 0;
    if (mcr & MCR_RTS)  m |= MSR_CTS;
    if (mcr & MCR_DTR)  m |= MSR_DSR;
    if (mcr & MCR_OUT1) m |= MSR_RI;
    if (mcr & MCR_OUT2) m |= MSR_DCD;
    return m;
}

/* Set the status half of MSR to `status`, latching deltas (lock held). */
static void set_msr_status(struct uart *u, uint8_t status)
{
    uint8_t old = u->msr, delta = 0;
    if ((old ^ status) & MSR_CTS) delta |= MSR_DCTS;
    if ((old ^ status) & MSR_DSR) delta |= MSR_DDSR;
    if ((old ^ status) & MSR_DCD) delta |= MSR_DDCD;
    if ((old & MSR_RI) && !(status & MSR_RI)) delta |= MSR_TERI; /* trailing edge */
    u->msr = (uint8_t)(status | (old & MSR_DELTA) | delta);
}

static uint64_t uart_read(void *opaque, uint64_t off, unsigned size)
{
    struct uart *u = opaque;
    uint8_t v = 0;
    if (off > UART_SCR)
        return 0;
    pthread_mutex_lock(&u->lock);
    switch (off) {
    case UART_RBR:
        if (u->lcr & LCR_DLAB) {
            v = u->dll;
        } else if (u->rx_count) {
            v = u->rx[u->rx_head];
            u->rx_head = (u->rx_head + 1) % UART_RX_BUFFER;
            u->rx_count--;
        }
        break;
    case UART_IER:
        v = (u->lcr & LCR_DLAB) ? u->dlm : u->ier;
        break;
    case UART_IIR: {
        uint8_t id = ident(u);
        v = id | ((u->fcr & FCR_FIFOE) ? IIR_FIFO_ON : 0);
        if (id == IIR_THRE)
            u->thre_pending = false;    /* datasheet: cleared by reading IIR */
        break;
    }
    case UART_LCR:
        v = u->lcr;
        break;
    case UART_MCR:
        v = u->mcr;
        break;
    case UART_LSR:
        v = LSR_THRE | LSR_TEMT | u->lsr_err | (u->rx_count ? LSR_DR : 0);
        u->lsr_err = 0;
        break;
    case UART_MSR:
        v = u->msr;
        u->msr &= (uint8_t)~MSR_DELTA;
        break;
    case UART_SCR:
        v = u->scr;
        break;
    }
    update_irq(u);
    pthread_mutex_unlock(&u->lock);
    return v;
}

static void transmit(struct uart *u, uint8_t byte)
{
    if (u->mcr & MCR_LOOP) {
        if (!rx_push(u, &byte, 1))
            u->lsr_err |= LSR_OE;
    } else if (u->console.out) {
        u->console.out(u->console.opaque, &byte, 1);
    }
    /* Sent at once: THR is empty again, so THRE re-arms. */
    u->thre_pending = true;
}

static void uart_write(void *opaque, uint64_t off, uint64_t val64, unsigned size)
{
    struct uart *u = opaque;
    uint8_t val = (uint8_t)val64;
    if (off > UART_SCR)
        return;
    pthread_mutex_lock(&u->lock);
    switch (off) {
    case UART_THR:
        if (u->lcr & LCR_DLAB)
            u->dll = val;
        else
            transmit(u, val);
        break;
    case UART_IER:
        if (u->lcr & LCR_DLAB) {
            u->dlm = val;
        } else {
            uint8_t old = u->ier;
            u->ier = val & IER_MASK;
            /* THR is always empty: enabling ETBEI raises THRE at once. */
            if ((u->ier & IER_ETBEI) && !(old & IER_ETBEI))
                u->thre_pending = true;
        }
        break;
    case UART_FCR:
        if ((val ^ u->fcr) & FCR_FIFOE) {
            /* Changing FIFOE resets both FIFOs (datasheet, FCR bit 0). */
            val |= FCR_RFIFOR | FCR_XFIFOR;
        }
        if (val & FCR_RFIFOR) {
            /* Drop what the 16550's own FIFO holds, keep host buffering. */
            size_t n = fifo_level(u);
            u->rx_head = (u->rx_head + n) % UART_RX_BUFFER;
            u->rx_count -= n;
        }
        if (val & FCR_XFIFOR)
            u->thre_pending = true;
        u->fcr = val & FCR_STORED_MASK;
        break;
    case UART_LCR:
        u->lcr = val;
        break;
    case UART_MCR:
        u->mcr = val & MCR_MASK;
        set_msr_status(u, (u->mcr & MCR_LOOP) ? loop_msr(u->mcr) : MSR_IDLE);
        break;
    case UART_LSR:
    case UART_MSR:
        break;  /* read-only (factory test use only in the datasheet) */
    case UART_SCR:
        u->scr = val;
        break;
    }
    update_irq(u);
    pthread_mutex_unlock(&u->lock);
}

const struct mmio_ops uart_mmio_ops = { .read = uart_read, .write = uart_write };

/* ------------------------------------------------------ device interface */

static void uart_reset(void *opaque)
{
    struct uart *u = opaque;
    pthread_mutex_lock(&u->lock);
    power_on(u);
    drive_irq(u, true);
    pthread_mutex_unlock(&u->lock);
}

static int uart_save(const void *opaque, struct sstate_writer *w)
{
    struct uart *u = (struct uart *)opaque;     /* for the lock */
    pthread_mutex_lock(&u->lock);
    sstate_begin(w, "uart", UART_STATE_VERSION);
    const uint8_t regs[] = {
        u->ier, u->lcr, u->mcr, u->scr, u->fcr, u->dll, u->dlm, u->msr,
        u->lsr_err, u->thre_pending,
    };
    sstate_put_bytes(w, regs, sizeof(regs));
    sstate_put_u32(w, (uint32_t)u->rx_count);
    /* The ring from its head, in at most two runs. */
    size_t first = MIN(u->rx_count, UART_RX_BUFFER - u->rx_head);
    sstate_put_bytes(w, u->rx + u->rx_head, first);
    sstate_put_bytes(w, u->rx, u->rx_count - first);
    pthread_mutex_unlock(&u->lock);
    return sstate_end(w);
}

static int uart_restore(void *opaque, struct sstate_reader *r)
{
    struct uart *u = opaque;
    uint32_t version;
    int rc = sstate_open(r, "uart", UART_STATE_VERSION, &version);
    if (rc)
        return rc;
    uint8_t regs[10];
    sstate_get_bytes(r, regs, sizeof(regs));
    uint8_t ier = regs[0], lcr = regs[1], mcr = regs[2], scr = regs[3], fcr = regs[4];
    uint8_t dll = regs[5], dlm = regs[6], msr = regs[7], lsr_err = regs[8], thre = regs[9];
    uint32_t n = sstate_get_u32(r);
    if (n > UART_RX_BUFFER)
        return sstate_fail(r, -EINVAL);
    uint8_t *rx = malloc(UART_RX_BUFFER);
    if (!rx)
        return sstate_fail(r, -ENOMEM);
    sstate_get_bytes(r, rx, n);
    uint8_t status = (mcr & MCR_LOOP) ? loop_msr(mcr) : MSR_IDLE;
    if ((ier & ~IER_MASK) || (mcr & ~MCR_MASK) || (fcr & ~FCR_STORED_MASK) ||
        (lsr_err & ~LSR_ERR) || thre > 1 || (msr & MSR_STATUS) != status)
        sstate_fail(r, -EINVAL);
    if ((rc = sstate_close(r))) {
        free(rx);
        return rc;
    }
    pthread_mutex_lock(&u->lock);
    u->ier = ier;
    u->lcr = lcr;
    u->mcr = mcr;
    u->scr = scr;
    u->fcr = fcr;
    u->dll = dll;
    u->dlm = dlm;
    u->msr = msr;
    u->lsr_err = lsr_err;
    u->thre_pending = thre;
    memcpy(u->rx, rx, n);
    u->rx_head = 0;
    u->rx_count = n;
    drive_irq(u, true);
    pthread_mutex_unlock(&u->lock);
    free(rx);
    return 0;
}

/* Linux Documentation/devicetree/bindings/serial/8250.yaml */
static int uart_fdt_node(void *opaque, const struct device_fdt_ctx *ctx)
{
    HW_DT_CHK(hw_dt_begin(ctx, "serial"));
    HW_DT_CHK(fdt_property_string(ctx->fdt, "compatible", "ns16550a"));
    HW_DT_CHK(hw_dt_reg(ctx));
    HW_DT_CHK(fdt_property_u32(ctx->fdt, "clock-frequency", UART_CLOCK_HZ));
    HW_DT_CHK(hw_dt_irq(ctx));
    return fdt_end_node(ctx->fdt);
}

static void uart_destroy(void *opaque)
{
    uart_free(opaque);
}

const struct device_ops uart_device_ops = {
    .tag = "uart",
    .reset = uart_reset,
    .save = uart_save,
    .restore = uart_restore,
    .fdt_node = uart_fdt_node,
    .destroy = uart_destroy,
};
