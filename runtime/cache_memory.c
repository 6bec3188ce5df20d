/* cache_memory.c - the in-memory store: binaries this process built but could not publish
 * (the cache directory is missing or read-only), so that each is compiled once per process.
 * A list, newest first, bounded in bytes; the oldest entries are dropped first. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "error.h"

typedef struct memory_entry {
    intfa_cache_key key;
    void *bytes;
    size_t size;
    struct memory_entry *next;
} memory_entry;

static pthread_mutex_t store_lock = PTHREAD_MUTEX_INITIALIZER;
static memory_entry *store; /* newest first */
static uint64_t store_bytes;

intfa_status intfa_cache_memory_get(const intfa_cache_key *key, void **payload, size_t *size,
                                    int *found)
{
    if (!key || !payload || !size || !found)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_cache_memory_get: %s is NULL",
                          !key ? "key" : !payload ? "payload" : !size ? "size" : "found");
    intfa_status st = INTFA_OK;
    void *copy = NULL;
    size_t copy_size = 0;
    pthread_mutex_lock(&store_lock);
    for (memory_entry *e = store; e; e = e->next) {
        if (memcmp(e->key.bytes, key->bytes, sizeof key->bytes) != 0)
            continue;
        copy = malloc(e->size);
        if (!copy)
            st = intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "intfa_cache_memory_get: %zu bytes",
                            e->size);
        else
            memcpy(copy, e->bytes, copy_size = e->size);
        break;
    }
    pthread_mutex_unlock(&store_lock);
    if (st != INTFA_OK)
        return st;
    *found = copy != NULL;
    if (copy) {
        *payload = copy;
        *size = copy_size;
    }
    return INTFA_OK;
}

/* Drops the oldest entries (not keep) while the store holds more than max_bytes. Locked. */
static void drop_oldest(uint64_t max_bytes, const memory_entry *keep)
{
    while (store_bytes > max_bytes) {
        memory_entry **last = &store;
        while ((*last)->next)
            last = &(*last)->next;
        memory_entry *e = *last;
        if (e == keep)
            return;
        *last = NULL;
        store_bytes -= e->size;
        free(e->bytes);
        free(e);
    }
}

intfa_status intfa_cache_memory_put(const intfa_cache_key *key, const void *payload,
                                    size_t size, uint64_t max_bytes)
{
    if (!key || !payload)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_cache_memory_put: %s is NULL",
                          !key ? "key" : "payload");
    if (size == 0)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_cache_memory_put: size is 0");
    memory_entry *e = calloc(1, sizeof *e);
    void *bytes = malloc(size);
    if (!e || !bytes) {
        free(e);
        free(bytes);
        return intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "intfa_cache_memory_put: %zu bytes", size);
    }
    e->key = *key;
    e->bytes = bytes;
    e->size = size;
    memcpy(bytes, payload, size);

    pthread_mutex_lock(&store_lock);
    /* Replace an entry with the same key (another thread built it too). */
    for (memory_entry **p = &store; *p; p = &(*p)->next) {
        if (memcmp((*p)->key.bytes, key->bytes, sizeof key->bytes) == 0) {
            memory_entry *old = *p;
            *p = old->next;
            store_bytes -= old->size;
            free(old->bytes);
            free(old);
            break;
        }
    }
    e->next = store;
    store = e;
    store_bytes += size;
    drop_oldest(max_bytes, e);
    pthread_mutex_unlock(&store_lock);
    return INTFA_OK;
}

intfa_status intfa_cache_memory_clear(void)
{
    pthread_mutex_lock(&store_lock);
    while (store) {
        memory_entry *e = store;
        store = e->next;
        free(e->bytes);
        free(e);
    }
    store_bytes = 0;
    pthread_mutex_unlock(&store_lock);
    return INTFA_OK;
}
