/* Unit tests for the VMDK driver (docs/block.md "VMDK"):
 *  - the descriptor parser accepts qemu-img's and VMware's descriptors
 *    (quoted and bare values, CRLF, comments, NUL padding, ddb keys kept,
 *    FLAT with offsets, SPARSE, ZERO, VMFS) and refuses, naming the line:
 *    unknown and repeated keys, a bad CID, an unquoted createType, an
 *    unknown createType or extent type, an unterminated quote, a ZERO
 *    extent with a file, an offset on a SPARSE extent, a zero size, text
 *    after the offset, control characters, an extent line after the
 *    first NUL (not read: the text ends there), over-long lines, too many extents, no createType, no extent;
 *  - a monolithicSparse image made by vmdk_create takes writes (a new
 *    grain table and grains), reads them back after reopening, keeps
 *    the redundant directory in step and the unclean-shutdown byte
 *    clear after close;
 *  - a streamOptimized image takes writes in increasing order, refuses a
 *    grain written already, and reads back after reopening. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "block/block.h"
#include "block/vmdk.h"
#include "util/util.h"

static char dir[256];
static char err[BLOCK_ERR_LEN];

static const char *tpath(const char *name)
{
    static char p[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof(p[k]), "%s/%s", dir, name);
    return p[k];
}

static int parse(const char *text, struct vmdk_desc *d)
{
    err[0] = 0;
    return vmdk_desc_parse(text, strlen(text), "d.vmdk", d, err, sizeof(err));
}

#define HEAD "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n"

static void test_desc_good(void **state)
{
    (void)state;
    struct vmdk_desc d;
    const char *t = HEAD "createType=\"twoGbMaxExtentFlat\"\r\n"
                    "# Extent description\n"
                    "RW 4194304 FLAT \"a-f001.vmdk\" 0\n"
                    "RDONLY 100 FLAT \"b c.img\" 2048\n"
                    "RW 8 ZERO\n"
                    "  RW 16 VMFS \"v.img\"\n"
                    "\n#DDB\nddb.adapterType = \"lsilogic\"\n"
                    "ddb.uuid.image=\"6000C29a\"\nencoding=\"UTF-8\"\n";
    assert_int_equal(parse(t, &d), 0);
    assert_string_equal(d.create_type, "twoGbMaxExtentFlat");
    assert_int_equal(d.cid, 0xfffffffe);
    assert_int_equal(d.next, 4);
    assert_int_equal(d.ext[1].access, VMDK_RDONLY);
    assert_int_equal(d.ext[1].offset, 2048);
    assert_string_equal(d.ext[1].file, "b c.img");
    assert_int_equal(d.ext[2].type, VMDK_EXT_ZERO);
    assert_null(d.ext[2].file);
    assert_int_equal(d.ext[3].type, VMDK_EXT_VMFS);
    assert_int_equal(d.total_sectors, 4194304 + 100 + 8 + 16);
    assert_string_equal(vmdk_desc_ddb(&d, "ddb.adapterType"), "lsilogic");
    assert_string_equal(vmdk_desc_ddb(&d, "ddb.uuid.image"), "6000C29a");
    assert_null(vmdk_desc_ddb(&d, "ddb.geometry.heads"));
    vmdk_desc_free(&d);

    /* a descriptor ends at its NUL padding */
    char emb[600] = HEAD "createType=\"monolithicSparse\"\nRW 2048 SPARSE \"x.vmdk\"\n";
    assert_int_equal(vmdk_desc_parse(emb, sizeof(emb), "x", &d, err, sizeof(err)), 0);
    assert_int_equal(d.next, 1);
    assert_int_equal(d.parent_cid, 0xffffffffu);
    vmdk_desc_free(&d);
    /* ... and what follows its first NUL is not read: qemu-io's CID
     * update, one digit shorter, leaves the old last byte after it */
    static const char stale[] = HEAD "createType=\"monolithicFlat\"\nRW 1 FLAT \"f\"\n"
                                "\0\n\0\0";
    assert_int_equal(vmdk_desc_parse(stale, sizeof(stale) - 1, "x", &d, err, sizeof(err)), 0);
    assert_int_equal(d.next, 1);
    vmdk_desc_free(&d);
    /* qemu-img writes CIDs without leading zeros; a parent is recorded */
    assert_int_equal(parse("version=1\nCID=bcaa578\nparentCID=1234\n"
                           "parentFileNameHint=\"p.vmdk\"\ncreateType=\"monolithicFlat\"\n"
                           "RW 1 FLAT \"f\"\n", &d), 0);
    assert_int_equal(d.parent_cid, 0x1234);
    assert_string_equal(d.parent_hint, "p.vmdk");
    vmdk_desc_free(&d);
}

static void bad(const char *text, int want, const char *words)
{
    struct vmdk_desc d;
    int r = parse(text, &d);
    if (r != want || !strstr(err, words) || !strstr(err, "d.vmdk"))
        fail_msg("parse gave %d (%s), wanted %d and '%s'", r, err, want, words);
}

static void test_desc_bad(void **state)
{
    (void)state;
    const char *ct = "createType=\"monolithicFlat\"\n";
    char buf[8192];
#define B(body, want, words) do { \
        snprintf(buf, sizeof(buf), HEAD "%s%s", ct, body); \
        bad(buf, want, words); \
    } while (0)
    B("RW 1 FLAT \"f\"\nfoo=1\n", -EINVAL, "line 7: unknown key \"foo\"");
    B("RW 1 FLAT \"f\"\nCID=12345678\n", -EINVAL, "line 7: key CID given twice");
    B("ddb.a=\"1\"\nddb.a=\"2\"\nRW 1 FLAT \"f\"\n", -EINVAL, "ddb.a given twice");
    B("RW 1 FLAT \"f\"\nparentCID=xyz\n", -EINVAL, "parentCID=xyz");
    B("RW 1 FLAT \"f\"\nversion=7\n", -ENOTSUP, "version=7");
    B("RW 1 FLAT \"f\n", -EINVAL, "unterminated quote");
    B("RW 1 FLAT f\n", -EINVAL, "must be quoted");
    B("RW 1 ZERO \"f\"\n", -EINVAL, "ZERO extent names no file");
    B("RW 1 SPARSE \"f\" 5\n", -EINVAL, "SPARSE extent takes no offset");
    B("RW 0 FLAT \"f\"\n", -EINVAL, "extent size \"0\"");
    B("RW -5 FLAT \"f\"\n", -EINVAL, "extent size");
    B("RW 99999999999999999999 FLAT \"f\"\n", -EINVAL, "extent size");
    B("RW 1 FLAT \"f\" 0 junk\n", -EINVAL, "extra text");
    B("RW 1 FLAT \"f\" 0x10\n", -EINVAL, "extent offset");
    B("RW 1 COW \"f\"\n", -ENOTSUP, "extent type \"COW\"");
    B("RW 1\n", -EINVAL, "without a type");
    B("RW 1 FLAT \"f\"\nRW\x01 1 FLAT \"g\"\n", -EINVAL, "control character");
    B("RW 1 FLAT \"f\"\nhello\n", -EINVAL, "neither key=value nor an extent line");
    B("RW 1 FLAT \"f\"\nencoding=\n", -EINVAL, "value of encoding");
    B("RW 1 FLAT \"f\"\nddb.x = \"a\" b\n", -EINVAL, "value of ddb.x");
    B("", -EINVAL, "no extent line");
#undef B
    bad(HEAD "RW 1 FLAT \"f\"\n", -EINVAL, "no createType");
    bad(HEAD "createType=monolithicFlat\nRW 1 FLAT \"f\"\n", -EINVAL, "must be quoted");
    bad(HEAD "createType=\"fullDevice\"\nRW 1 FLAT \"f\"\n", -ENOTSUP,
        "createType \"fullDevice\"");
    /* an extent line after the first NUL is not read */
    struct vmdk_desc d;
    static const char nul[] = HEAD "createType=\"monolithicFlat\"\n\0RW 1 FLAT \"f\"\n";
    assert_int_equal(vmdk_desc_parse(nul, sizeof(nul) - 1, "d.vmdk", &d, err,
                                     sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "no extent line"));
    /* limits: line length, extent count, descriptor size */
    char *big = malloc(VMDK_DESC_FILE_MAX + 2);
    assert_non_null(big);
    int n = snprintf(big, 4096, HEAD "createType=\"monolithicFlat\"\nRW 1 FLAT \"");
    memset(big + n, 'a', 1100);
    strcpy(big + n + 1100, "\"\n");
    bad(big, -EINVAL, "longer than 1024 bytes");
    n = snprintf(big, 4096, HEAD "createType=\"monolithicFlat\"\n");
    for (unsigned i = 0; i <= VMDK_DESC_EXTENTS_MAX; i++)
        n += snprintf(big + n, 32, "RW 1 ZERO\n");
    bad(big, -EINVAL, "more than 4096 extents");
    memset(big, '\n', VMDK_DESC_FILE_MAX + 1);
    big[VMDK_DESC_FILE_MAX + 1] = 0;
    bad(big, -EINVAL, "accepted: at most");
    free(big);
}

static void test_sparse_write(void **state)
{
    (void)state;
    const char *f = tpath("w.vmdk");
    struct block_create_opts o = { .format = BLOCK_FMT_VMDK, .size = 100 << 20 };
    assert_int_equal(block_create(f, &o, err, sizeof(err)), 0);
    struct block_dev *bd;
    assert_int_equal(block_open(&bd, f, 0, BLOCK_FMT_PROBE, err, sizeof(err)), 0);
    uint8_t w[70000], r[70000];
    for (size_t i = 0; i < sizeof(w); i++)
        w[i] = (uint8_t)(i * 7 + 3);
    /* across a grain boundary and a table boundary (32 MiB) */
    assert_int_equal(block_pwrite(bd, (32 << 20) - 1000, w, sizeof(w)), 0);
    assert_int_equal(block_pwrite(bd, (100 << 20) - 512, w, 512), 0);
    /* set while open for writing */
    int fd = open(f, O_RDONLY);
    uint8_t b = 0;
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, &b, 1, VMDK_H_UNCLEAN), 1);
    assert_int_equal(b, 1);
    block_close(bd);
    assert_int_equal(pread(fd, &b, 1, VMDK_H_UNCLEAN), 1);
    assert_int_equal(b, 0);
    close(fd);
    assert_int_equal(block_open(&bd, f, BLOCK_O_RDONLY, BLOCK_FMT_VMDK, err, sizeof(err)), 0);
    assert_int_equal(block_pread(bd, (32 << 20) - 1000, r, sizeof(r)), 0);
    assert_memory_equal(w, r, sizeof(w));
    assert_int_equal(block_pread(bd, (100 << 20) - 512, r, 512), 0);
    assert_memory_equal(w, r, 512);
    assert_int_equal(block_pread(bd, 0, r, 4096), 0);
    for (int i = 0; i < 4096; i++)
        assert_int_equal(r[i], 0);
    struct block_check_result res;
    assert_int_equal(block_check(bd, false, &res, NULL), 0);
    assert_int_equal(res.corruptions, 0);
    assert_int_equal(res.allocated_clusters, 4);
    block_close(bd);
}

static void test_stream_write(void **state)
{
    (void)state;
    const char *f = tpath("s.vmdk");
    struct block_create_opts o = { .format = BLOCK_FMT_VMDK, .size = 1 << 20,
                                   .subformat = "streamOptimized" };
    assert_int_equal(block_create(f, &o, err, sizeof(err)), 0);
    struct block_dev *bd;
    assert_int_equal(block_open(&bd, f, 0, BLOCK_FMT_PROBE, err, sizeof(err)), 0);
    uint8_t w[65536 + 100], r[65536 + 100];
    for (size_t i = 0; i < sizeof(w); i++)
        w[i] = (uint8_t)(i % 251);
    assert_int_equal(block_pwrite(bd, 65536 - 50, w, sizeof(w)), 0);
    /* the partial grain still buffered reads back */
    assert_int_equal(block_pread(bd, 65536 - 50, r, sizeof(r)), 0);
    assert_memory_equal(w, r, sizeof(w));
    assert_int_equal(block_pwrite(bd, 0, w, 512), -EROFS);
    assert_non_null(strstr(block_last_error(bd), "written already"));
    assert_int_equal(block_pwrite(bd, (1 << 20) - 512, w, 512), 0);
    assert_int_equal(block_flush(bd), 0);
    block_close(bd);
    assert_int_equal(block_open(&bd, f, 0, BLOCK_FMT_VMDK, err, sizeof(err)), -EROFS);
    assert_non_null(strstr(err, "append-only"));
    assert_int_equal(block_open(&bd, f, BLOCK_O_RDONLY, BLOCK_FMT_VMDK, err, sizeof(err)), 0);
    assert_int_equal(block_pread(bd, 65536 - 50, r, sizeof(r)), 0);
    assert_memory_equal(w, r, sizeof(w));
    assert_int_equal(block_pread(bd, (1 << 20) - 512, r, 512), 0);
    assert_memory_equal(w, r, 512);
    block_close(bd);
}

/* A hand-written descriptor file: RW FLAT, RDONLY FLAT, ZERO; writes go
 * to the first only, the others fail naming the extent. */
static void test_desc_file_write(void **state)
{
    (void)state;
    FILE *fp = fopen(tpath("a.img"), "w");
    assert_non_null(fp);
    assert_int_equal(ftruncate(fileno(fp), 8192), 0);
    fclose(fp);
    fp = fopen(tpath("b.img"), "w");
    assert_non_null(fp);
    assert_int_equal(ftruncate(fileno(fp), 8192), 0);
    fclose(fp);
    fp = fopen(tpath("df.vmdk"), "w");
    assert_non_null(fp);
    fputs(HEAD "createType=\"monolithicFlat\"\nRW 8 FLAT \"a.img\" 2\n"
          "RDONLY 4 FLAT \"b.img\"\nRW 4 ZERO\n", fp);
    fclose(fp);
    struct block_dev *bd;
    assert_int_equal(block_open(&bd, tpath("df.vmdk"), 0, BLOCK_FMT_PROBE, err,
                                sizeof(err)), 0);
    assert_int_equal(block_length(bd), 16 * 512);
    uint8_t w[512], r[512];
    memset(w, 0x3c, sizeof(w));
    assert_int_equal(block_pwrite(bd, 7 * 512, w, 512), 0);
    assert_int_equal(block_pwrite(bd, 8 * 512, w, 512), -EROFS);
    assert_non_null(strstr(block_last_error(bd), "read-only (RDONLY)"));
    assert_int_equal(block_pwrite(bd, 12 * 512, w, 512), -EROFS);
    assert_non_null(strstr(block_last_error(bd), "ZERO extent"));
    assert_int_equal(block_pread(bd, 7 * 512, r, 512), 0);
    assert_memory_equal(w, r, 512);
    block_close(bd);
    /* the FLAT extent's offset (2 sectors) is honoured in its file */
    int fd = open(tpath("a.img"), O_RDONLY);
    assert_int_equal(pread(fd, r, 512, 9 * 512), 512);
    close(fd);
    assert_memory_equal(w, r, 512);
}

/* The CID a descriptor at byte `off` of file f (len bytes) says. */
static uint32_t file_cid(const char *f, off_t off, size_t len)
{
    char *t = calloc(1, len + 1);
    int fd = open(f, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, t, len, off), (ssize_t)len);
    close(fd);
    struct vmdk_desc d;
    assert_int_equal(vmdk_desc_parse(t, len, f, &d, err, sizeof(err)), 0);
    uint32_t cid = d.cid;
    vmdk_desc_free(&d);
    free(t);
    return cid;
}

/* The CID is renewed as 8 digits at the first write after an open (a
 * child disk's parentCID check, Virtual Disk Format 1.1), in place; a
 * read-only open leaves the descriptor as it is. */
static void test_cid(void **state)
{
    (void)state;
    /* the parser says where the value is: quoted, after blanks, not
     * parentCID's */
    char t[200] = "version=1\nparentCID=ffffffff\n CID = \"12ab\"\r\n"
                  "createType=\"monolithicFlat\"\nRW 1 FLAT \"f\"\n";
    size_t len = strlen(t);
    struct vmdk_desc d;
    assert_int_equal(vmdk_desc_parse(t, len, "x", &d, err, sizeof(err)), 0);
    assert_int_equal(d.cid, 0x12ab);
    assert_int_equal(d.cid_len, 4);
    assert_memory_equal(t + d.cid_at, "12ab\"", 5);
    size_t at = d.cid_at;
    vmdk_desc_free(&d);
    assert_int_equal(vmdk_cid_set(t, len, sizeof(t), at, 4, 0xc0ffee), (long)len + 4);
    assert_string_equal(t, "version=1\nparentCID=ffffffff\n CID = \"00c0ffee\"\r\n"
                           "createType=\"monolithicFlat\"\nRW 1 FLAT \"f\"\n");
    len += 4;
    assert_int_equal(vmdk_cid_set(t, len, len, at, 8, 0x1234abcd), (long)len);
    assert_non_null(strstr(t, "\"1234abcd\""));
    assert_int_equal(vmdk_desc_parse(t, len, "x", &d, err, sizeof(err)), 0);
    assert_int_equal(d.cid, 0x1234abcd);
    vmdk_desc_free(&d);
    char g[40] = "CID=1\n";
    assert_int_equal(vmdk_cid_set(g, 6, 12, 4, 1, 1), -ENOSPC);
    assert_string_equal(g, "CID=1\n");
    assert_int_equal(vmdk_cid_set(g, 6, 40, 4, 3, 1), -EINVAL);   /* past the text */
    assert_int_equal(vmdk_desc_parse("parentCID=1\ncreateType=\"monolithicFlat\"\n"
                                     "RW 1 FLAT \"f\"\n", 54, "x", &d, err, sizeof(err)), 0);
    assert_int_equal(d.cid_len, 0);
    vmdk_desc_free(&d);
    uint32_t c = vmdk_cid_new(5);
    assert_true(c != 0 && c != 5 && c != 0xffffffffu);

    /* a descriptor file whose 7-digit CID has a stale byte after its NUL
     * (qemu-io's update) */
    int fd = open(tpath("c.img"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 4096), 0);
    close(fd);
    static const char desc[] = "# Disk DescriptorFile\nversion=1\nCID=abcdef1\n"
        "parentCID=ffffffff\ncreateType=\"monolithicFlat\"\nRW 8 FLAT \"c.img\"\n\0\n\0";
    FILE *fp = fopen(tpath("c.vmdk"), "w");
    assert_non_null(fp);
    assert_int_equal(fwrite(desc, 1, sizeof(desc), fp), sizeof(desc));
    fclose(fp);
    struct block_dev *bd;
    uint8_t w[512] = { 5 };
    assert_int_equal(block_open(&bd, tpath("c.vmdk"), BLOCK_O_RDONLY, BLOCK_FMT_PROBE, err,
                                sizeof(err)), 0);
    assert_int_equal(block_pread(bd, 0, w, 512), 0);
    block_close(bd);
    assert_int_equal(file_cid(tpath("c.vmdk"), 0, sizeof(desc)), 0xabcdef1);
    assert_int_equal(block_open(&bd, tpath("c.vmdk"), 0, BLOCK_FMT_PROBE, err,
                                sizeof(err)), 0);
    assert_int_equal(block_pwrite(bd, 0, w, 512), 0);
    assert_int_equal(block_pwrite(bd, 512, w, 512), 0);
    assert_int_equal(block_flush(bd), 0);
    block_close(bd);
    uint32_t c1 = file_cid(tpath("c.vmdk"), 0, sizeof(desc));
    assert_int_not_equal(c1, 0xabcdef1);
    /* one digit more: the text took the NUL's place and ends with one
     * over the stale byte; the file kept its size */
    struct stat st;
    assert_int_equal(stat(tpath("c.vmdk"), &st), 0);
    assert_int_equal(st.st_size, sizeof(desc));
    char back[sizeof(desc)];
    fd = open(tpath("c.vmdk"), O_RDONLY);
    assert_int_equal(pread(fd, back, sizeof(back), 0), (ssize_t)sizeof(back));
    close(fd);
    assert_int_equal(strlen(back), sizeof(desc) - 3);
    assert_memory_equal(back + sizeof(desc) - 10, "c.img\"\n\0\0\0", 10);

    /* monolithicSparse: the embedded descriptor */
    const char *f = tpath("cs.vmdk");
    struct block_create_opts o = { .format = BLOCK_FMT_VMDK, .size = 1 << 20 };
    assert_int_equal(block_create(f, &o, err, sizeof(err)), 0);
    uint8_t h[512];
    fd = open(f, O_RDONLY);
    assert_int_equal(pread(fd, h, 512, 0), 512);
    close(fd);
    off_t doff = (off_t)(le_get(h + VMDK_H_DESC_OFF, 8) * 512);
    size_t dlen = (size_t)le_get(h + VMDK_H_DESC_SIZE, 8) * 512;
    uint32_t c0 = file_cid(f, doff, dlen);
    assert_int_equal(block_open(&bd, f, 0, BLOCK_FMT_PROBE, err, sizeof(err)), 0);
    assert_int_equal(block_pwrite(bd, 4096, w, 512), 0);
    block_close(bd);
    c1 = file_cid(f, doff, dlen);
    assert_int_not_equal(c1, c0);
    /* an open that writes nothing keeps it */
    assert_int_equal(block_open(&bd, f, 0, BLOCK_FMT_PROBE, err, sizeof(err)), 0);
    assert_int_equal(block_pread(bd, 4096, h, 512), 0);
    block_close(bd);
    assert_int_equal(file_cid(f, doff, dlen), c1);
    assert_memory_equal(h, w, 512);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "%s/vmdk-unit.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_desc_good),
        cmocka_unit_test(test_desc_bad),
        cmocka_unit_test(test_sparse_write),
        cmocka_unit_test(test_stream_write),
        cmocka_unit_test(test_desc_file_write),
        cmocka_unit_test(test_cid),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
