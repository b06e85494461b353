/* vmm: the snapshot memory file's write-back, started from a thread of
 * its own (snapshot.h "snap_wb").
 *
 * Why a thread: sync_file_range(SYNC_FILE_RANGE_WRITE) is not free for
 * the caller.  On ext4 with delayed allocation it is where the file's
 * blocks get allocated and the journal handle taken, 10 to 25 ms of a
 * 78 MiB memory file on this kind of host, all of it on the copying
 * thread when called inline.  Handed to a second thread it runs on
 * another core while the copy goes on, and the final fsync still only
 * waits for the tail.  If the thread cannot be made, the kicks run inline
 * as before: slower, never wrong (the fsync makes everything durable). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "vmm/snapshot.h"

static void *wb_main(void *opaque)
{
    struct snap_wb *wb = opaque;
    off_t done = 0;
    pthread_mutex_lock(&wb->lock);
    for (;;) {
        while (!wb->stop && wb->posted == done)
            pthread_cond_wait(&wb->cond, &wb->lock);
        off_t upto = wb->posted;
        bool stop = wb->stop;
        pthread_mutex_unlock(&wb->lock);
        if (upto > done)
            (void)sync_file_range(wb->fd, done, upto - done, SYNC_FILE_RANGE_WRITE);
        done = upto;
        pthread_mutex_lock(&wb->lock);
        if (stop && wb->posted == done)
            break;
    }
    pthread_mutex_unlock(&wb->lock);
    return NULL;
}

void snap_wb_start(struct snap_wb *wb, int fd)
{
    memset(wb, 0, sizeof(*wb));
    wb->fd = fd;
    if (pthread_mutex_init(&wb->lock, NULL))
        return;
    if (pthread_cond_init(&wb->cond, NULL)) {
        pthread_mutex_destroy(&wb->lock);
        return;
    }
    wb->threaded = pthread_create(&wb->thread, NULL, wb_main, wb) == 0;
    if (!wb->threaded) {
        pthread_cond_destroy(&wb->cond);
        pthread_mutex_destroy(&wb->lock);
    }
}

void snap_wb_kick(struct snap_wb *wb, off_t upto)
{
    if (upto - wb->kicked < SNAP_WRITEBACK_STEP)
        return;
    if (!wb->threaded) {
        snap_writeback_kick(wb->fd, &wb->kicked, upto);
        return;
    }
    wb->kicked = upto;
    pthread_mutex_lock(&wb->lock);
    wb->posted = upto;
    pthread_cond_signal(&wb->cond);
    pthread_mutex_unlock(&wb->lock);
}

void snap_wb_stop(struct snap_wb *wb)
{
    if (!wb->threaded)
        return;
    pthread_mutex_lock(&wb->lock);
    wb->stop = true;
    pthread_cond_signal(&wb->cond);
    pthread_mutex_unlock(&wb->lock);
    pthread_join(wb->thread, NULL);
    pthread_cond_destroy(&wb->cond);
    pthread_mutex_destroy(&wb->lock);
    wb->threaded = false;
}
