/* outbox.c - messages kept in order until the bus is back (see outbox.h). */
#include "actors/builder/outbox.h"

#include "runtime/core/error.h"
#include "runtime/core/mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct entry {
    struct entry *next;
    char *subject, *msg_id;
    void *data;
    size_t len;
} entry;

struct sw_outbox {
    char *spill_path;
    size_t mem_max, mem_bytes;
    entry *head, *tail;     /* in memory: always older than anything in the file */
    FILE *file;
    long read_off, write_off;
    size_t file_count;
    uint64_t file_bytes;
    entry from_file;        /* the file's oldest record, once peeked */
    bool have_from_file;
    size_t count;
};

static void entry_free(entry *e)
{
    free(e->subject);
    free(e->msg_id);
    free(e->data);
}

sw_outbox *sw_outbox_create(const char *spill_path, size_t mem_max)
{
    sw_outbox *box = sw_calloc(1, sizeof(*box));
    box->spill_path = sw_strdup(spill_path);
    box->mem_max = mem_max;
    return box;
}

void sw_outbox_destroy(sw_outbox **box_p)
{
    sw_outbox *box;
    if (box_p == NULL || (box = *box_p) == NULL) {
        return;
    }
    while (box->head != NULL) {
        entry *e = box->head;
        box->head = e->next;
        entry_free(e);
        free(e);
    }
    if (box->have_from_file) {
        entry_free(&box->from_file);
    }
    if (box->file != NULL) {
        fclose(box->file);
        unlink(box->spill_path);
    }
    free(box->spill_path);
    free(box);
    *box_p = NULL;
}

static int spill(sw_outbox *box, const char *subject, const char *msg_id, const void *data,
                 size_t len)
{
    uint32_t lens[3] = {(uint32_t)strlen(subject), (uint32_t)strlen(msg_id), (uint32_t)len};
    if (box->file == NULL) {
        box->file = fopen(box->spill_path, "w+be");
        if (box->file == NULL) {
            return sw_error_set(SW_EIO, "outbox %s: %s", box->spill_path, strerror(errno));
        }
        box->read_off = box->write_off = 0;
    }
    if (fseek(box->file, box->write_off, SEEK_SET) != 0 ||
        fwrite(lens, sizeof(lens), 1, box->file) != 1 ||
        fwrite(subject, 1, lens[0], box->file) != lens[0] ||
        fwrite(msg_id, 1, lens[1], box->file) != lens[1] ||
        (len > 0 && fwrite(data, 1, len, box->file) != len) || fflush(box->file) != 0) {
        return sw_error_set(SW_EIO, "outbox %s: cannot write: %s", box->spill_path,
                            strerror(errno));
    }
    box->write_off = ftell(box->file);
    box->file_count++;
    box->file_bytes += len;
    return 0;
}

int sw_outbox_put(sw_outbox *box, const char *subject, const char *msg_id, const void *data,
                  size_t len)
{
    if (len > UINT32_MAX) {
        return sw_error_set(SW_EINVALID, "outbox: a message of %zu bytes", len);
    }
    if (box->file_count > 0 || box->mem_bytes + len > box->mem_max) {
        int error = spill(box, subject, msg_id, data, len);
        if (error == 0) {
            box->count++;
        }
        return error;
    }
    entry *e = sw_calloc(1, sizeof(*e));
    e->subject = sw_strdup(subject);
    e->msg_id = sw_strdup(msg_id);
    e->data = sw_calloc(1, len > 0 ? len : 1);
    memcpy(e->data, data, len);
    e->len = len;
    if (box->tail != NULL) {
        box->tail->next = e;
    } else {
        box->head = e;
    }
    box->tail = e;
    box->mem_bytes += len;
    box->count++;
    return 0;
}

static char *read_string(FILE *f, uint32_t n)
{
    char *s = sw_calloc(1, (size_t)n + 1);
    if (n > 0 && fread(s, 1, n, f) != n) {
        free(s);
        return NULL;
    }
    s[n] = '\0';
    return s;
}

static int read_from_file(sw_outbox *box)
{
    uint32_t lens[3];
    entry *e = &box->from_file;
    memset(e, 0, sizeof(*e));
    if (fseek(box->file, box->read_off, SEEK_SET) != 0 ||
        fread(lens, sizeof(lens), 1, box->file) != 1 ||
        (e->subject = read_string(box->file, lens[0])) == NULL ||
        (e->msg_id = read_string(box->file, lens[1])) == NULL ||
        (e->data = read_string(box->file, lens[2])) == NULL) {
        entry_free(e);
        return sw_error_set(SW_EIO, "outbox %s: cannot read it back", box->spill_path);
    }
    e->len = lens[2];
    box->read_off = ftell(box->file);
    box->have_from_file = true;
    return 0;
}

int sw_outbox_peek(sw_outbox *box, const char **subject, const char **msg_id, const void **data,
                   size_t *len)
{
    const entry *e = box->head;
    if (e == NULL) {
        if (box->file_count == 0) {
            return SW_ENOTFOUND;
        }
        if (!box->have_from_file) {
            int error = read_from_file(box);
            if (error < 0) {
                return error;
            }
        }
        e = &box->from_file;
    }
    *subject = e->subject;
    *msg_id = e->msg_id;
    *data = e->data;
    *len = e->len;
    return 0;
}

void sw_outbox_pop(sw_outbox *box)
{
    if (box->head != NULL) {
        entry *e = box->head;
        box->head = e->next;
        if (box->head == NULL) {
            box->tail = NULL;
        }
        box->mem_bytes -= e->len;
        entry_free(e);
        free(e);
        box->count--;
        return;
    }
    if (box->file_count == 0) {
        return;
    }
    if (!box->have_from_file && read_from_file(box) < 0) {
        return;
    }
    box->file_bytes -= box->from_file.len;
    entry_free(&box->from_file);
    box->have_from_file = false;
    box->file_count--;
    box->count--;
    if (box->file_count == 0) {
        /* all sent: start the file over */
        box->read_off = box->write_off = 0;
        if (ftruncate(fileno(box->file), 0) != 0) {
            /* nothing lost: the file is written over from its start anyway */
        }
    }
}

bool sw_outbox_empty(const sw_outbox *box)
{
    return box->count == 0;
}

size_t sw_outbox_count(const sw_outbox *box)
{
    return box->count;
}

uint64_t sw_outbox_bytes(const sw_outbox *box)
{
    return box->mem_bytes + box->file_bytes;
}

uint64_t sw_outbox_spilled(const sw_outbox *box)
{
    return box->file_bytes;
}
