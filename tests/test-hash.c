/*
 * test-hash: hash64_bytes is the same function whichever way it reads its input's last partial
 * word: against a reference that assembles every word byte by byte (the definition in
 * base/hash.c), for every length up to 40 at every alignment, so trace hashes do not depend on
 * the machine's byte order or on how the tail is read. hash64_short, the inline form for inputs of
 * up to a word, against the same reference.
 */
#include "base/hash.h"
#include "tests/testlib.h"

#include <stdint.h>
#include <string.h>

static uint64_t absorb(uint64_t h, uint64_t w)
{
    w *= UINT64_C(0x87c37b91114253d5);
    w = (w << 31) | (w >> 33);
    w *= UINT64_C(0x4cf5ad432745937f);
    h ^= w;
    h = (h << 27) | (h >> 37);
    return h * 5 + UINT64_C(0x52dce729);
}

static uint64_t reference(uint64_t h, const unsigned char *p, size_t len)
{
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w = 0;
        for (int k = 0; k < 8; k++)
            w |= (uint64_t)p[i + (size_t)k] << (8 * k);
        h = absorb(h, w);
    }
    uint64_t tail = 0;
    for (size_t k = 0; i + k < len; k++)
        tail |= (uint64_t)p[i + k] << (8 * k);
    return absorb(absorb(h, tail), (uint64_t)len);
}

int main(void)
{
    unsigned char bytes[64];
    uint64_t x = UINT64_C(0x9e3779b97f4a7c15);
    for (size_t i = 0; i < sizeof bytes; i++) {
        x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
        bytes[i] = (unsigned char)(x * UINT64_C(2685821657736338717) >> 56);
    }
    for (size_t offset = 0; offset < 8; offset++)
        for (size_t len = 0; len <= 40; len++)
            EXPECT_U64(hash64_bytes(HASH64_INIT + len, bytes + offset, len),
                       reference(HASH64_INIT + len, bytes + offset, len));
    /* hash64_short is hash64_bytes for inputs of up to a word. */
    for (size_t offset = 0; offset < 8; offset++)
        for (size_t len = 0; len <= 8; len++)
            EXPECT_U64(hash64_short(HASH64_INIT + len, bytes + offset, len),
                       reference(HASH64_INIT + len, bytes + offset, len));
    /* A string is its bytes and the terminator. */
    EXPECT_U64(hash64_str(7, "field"), reference(7, (const unsigned char *)"field", 6));
    return test_exit("hash");
}
