/* A bare-metal guest that makes the virtio-rng device (slot 0 when there
 * are no disks or network cards) fail and resets it, over and over: each
 * round writes QueueReady with a queue size of 0, which puts the device
 * into DEVICE_NEEDS_RESET with a warning on the host, then resets it
 * (status 0), which re-arms the device's once-until-reset warning.  Then it
 * passes through HTIF.  tests/cli/run-guest-log.sh counts the lines the
 * host printed: they must stay bounded by the VM's rate limit.  Linked
 * with the ISA harness (tests/isa/common/crt.S calls test_main). */
#include <stdint.h>

#define VIRTIO_BASE 0x10001000UL
#define MAGIC_VALUE 0x000
#define DEVICE_ID   0x008
#define QUEUE_SEL   0x030
#define QUEUE_NUM   0x038
#define QUEUE_READY 0x044
#define STATUS      0x070

#define ROUNDS 20000

void pass(void);
void fail(void);

static volatile uint32_t *reg(unsigned off)
{
    return (volatile uint32_t *)(VIRTIO_BASE + off);
}

void test_main(void)
{
    if (*reg(MAGIC_VALUE) != 0x74726976 || *reg(DEVICE_ID) != 4)
        fail();                 /* not the entropy device in slot 0 */
    for (unsigned i = 0; i < ROUNDS; i++) {
        *reg(STATUS) = 0;       /* reset: forget the last error */
        *reg(STATUS) = 3;       /* ACKNOWLEDGE | DRIVER */
        *reg(QUEUE_SEL) = 0;
        *reg(QUEUE_NUM) = 0;    /* not a valid size: */
        *reg(QUEUE_READY) = 1;  /* device needs reset, host warns */
    }
    pass();
}
