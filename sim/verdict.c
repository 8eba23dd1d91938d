/*
 * verdict: see verdict.h.
 */
#include "sim/verdict.h"
#include "base/buf.h"
#include "base/xalloc.h"

#include <string.h>

bool verdict_class_fails(const scenario *sc, bool strict, vclass c)
{
    if (vclass_benign(c))
        return false;
    if (strict)
        return true;
    vclass_set allowed = sc->profile.accepts | sc->expect.violations;
    return !(allowed & VCLASS_BIT(c));
}

static void add_unmet(verdict *v, char *sentence)
{
    v->unmet = xrealloc(v->unmet, (size_t)(v->n_unmet + 1) * sizeof *v->unmet);
    v->unmet[v->n_unmet++] = sentence;
}

static void describe_found(buf *b, const snap_record *r)
{
    if (!r) {
        buf_puts(b, "no such record");
        return;
    }
    if (r->deleted) {
        buf_puts(b, "it deleted");
        return;
    }
    buf_putc(b, '{');
    for (int i = 0; i < r->n_fields; i++) {
        buf_printf(b, "%s%s: ", i ? ", " : "", r->fields[i].name);
        value_format(&r->fields[i].v, b);
    }
    buf_putc(b, '}');
}

static void check_state(const scenario *sc, const run_result *r, verdict *v)
{
    const snapshot *server = &r->snaps[NODE_SERVER];
    for (int i = 0; i < sc->expect.n_state; i++) {
        const state_expect *e = &sc->expect.state[i];
        char key[512];
        snprintf(key, sizeof key, "%s/%s", e->type, e->id);
        const snap_record *rec = snapshot_find(server, key);
        bool met;
        switch (e->kind) {
        case STATE_DELETED: met = rec && rec->deleted; break;
        case STATE_ABSENT: met = !rec; break;
        case STATE_FIELDS:
            met = rec && !rec->deleted;
            for (int k = 0; met && k < e->n_fields; k++) {
                const snap_field *f = snap_record_field(rec, e->fields[k].name);
                met = f && value_equal(&f->v, &e->fields[k].v);
            }
            break;
        default: met = false;
        }
        if (met)
            continue;
        buf b;
        buf_init(&b);
        buf_printf(&b, "%s:%d:%d: expected %s to be ", e->pos.file, e->pos.line, e->pos.column, key);
        if (e->kind == STATE_DELETED) {
            buf_puts(&b, "deleted");
        } else if (e->kind == STATE_ABSENT) {
            buf_puts(&b, "absent");
        } else {
            buf_putc(&b, '{');
            for (int k = 0; k < e->n_fields; k++) {
                buf_printf(&b, "%s%s: ", k ? ", " : "", e->fields[k].name);
                value_format(&e->fields[k].v, &b);
            }
            buf_putc(&b, '}');
        }
        buf_puts(&b, " on the server, found ");
        describe_found(&b, rec);
        add_unmet(v, buf_take(&b));
    }
}

void verdict_judge(const scenario *sc, const run_result *r, bool strict, verdict *v)
{
    memset(v, 0, sizeof *v);
    /* Nothing was checked: the run says only why. */
    if (r->node_failure) {
        v->exit_code = EXIT_NODE_FAILED;
        v->outcome = "node-failed";
        return;
    }
    if (r->not_applicable) {
        v->exit_code = EXIT_BAD_INPUT;
        v->outcome = "not-applicable";
        return;
    }
    for (int c = 0; c < VC_COUNT; c++) {
        if (r->check.counts[c] == 0 || vclass_benign((vclass)c))
            continue;
        if (verdict_class_fails(sc, strict, (vclass)c))
            v->failing |= VCLASS_BIT(c);
        else
            v->tolerated |= VCLASS_BIT(c);
    }
    if (!strict) {
        for (int c = 0; c < VC_COUNT; c++) {
            if ((sc->expect.violations & VCLASS_BIT(c)) && r->check.counts[c] == 0) {
                buf b;
                buf_init(&b);
                buf_printf(&b, "the scenario expects %s, but it did not occur", vclass_name((vclass)c));
                add_unmet(v, buf_take(&b));
            }
        }
        if (r->quiesced)
            check_state(sc, r, v);
    }
    if (v->failing & VCLASS_BIT(VC_NO_QUIESCENCE)) {
        v->exit_code = EXIT_LIVENESS;
        v->outcome = "no-quiescence";
    } else if (v->failing) {
        v->exit_code = EXIT_VIOLATION;
        v->outcome = "violation";
    } else if (v->n_unmet) {
        v->exit_code = EXIT_VIOLATION;
        v->outcome = "unmet";
    } else {
        v->exit_code = EXIT_PASS;
        v->outcome = "pass";
    }
}

void verdict_free(verdict *v)
{
    for (int i = 0; i < v->n_unmet; i++)
        xfree(v->unmet[i]);
    xfree(v->unmet);
    memset(v, 0, sizeof *v);
}
