/* evsnn nir: NIR files (docs/nir.md). `info` shows a graph as evsnn read it
 * (nodes with their inferred shapes and parameter ranges, edges, version)
 * and whether evsnn can run it; `import` turns one into an evsnn model,
 * `export` writes an evsnn model as one. The work is in src/nir. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "evsnn.h"

static int usage_nir(void) {
  printf("usage: evsnn nir info FILE\n"
         "       evsnn nir import FILE --out MODEL [--dt S] [--discretisation exact|euler] [--reset zero|subtract]\n"
         "       evsnn nir export MODEL --out FILE.nir\n"
         "  import defaults: --dt 1e-4 --discretisation euler --reset zero (snnTorch's convention, which export\n"
         "  writes); --reset applies to files without v_reset (NIR before 1.0)\n");
  return 0;
}

static void print_shape(const evsnn_nir_shape_t *s) {
  putchar('(');
  for (uint32_t d = 0; d < s->rank; d++) printf(d ? ", %lld" : "%lld", (long long)s->dims[d]);
  putchar(')');
}

static void print_param(const evsnn_nir_param_t *p) {
  printf("    %-12s ", p->name);
  evsnn_nir_shape_t s = {.rank = p->rank};
  memcpy(s.dims, p->dims, sizeof s.dims);
  if (p->rank) print_shape(&s); else fputs("scalar", stdout);
  if (!p->count) return (void)putchar('\n');
  double lo = INFINITY, hi = -INFINITY;
  for (size_t k = 0; k < p->count; k++) {
    double v = p->is_int ? (double)p->i[k] : p->f[k];
    lo = fmin(lo, v);
    hi = fmax(hi, v);
  }
  const char *kind = p->is_int ? "int64" : p->wide ? "float64" : "float32";
  if (p->count <= 4) {
    printf(" %s =", kind);
    for (size_t k = 0; k < p->count; k++) printf(" %.9g", p->is_int ? (double)p->i[k] : p->f[k]);
  } else if (lo == hi) {
    printf(" %s, all %.9g", kind, lo);
  } else {
    printf(" %s in [%.9g, %.9g]", kind, lo, hi);
  }
  putchar('\n');
}

/* The nodes in the order data flows: breadth first from the Inputs, along
 * the edges as the file lists them, then any the Inputs do not reach. Files
 * list nodes by name, which puts Sinabs's "10" before "2". */
static uint32_t *flow_order(const evsnn_nir_graph_t *g) {
  uint32_t *order = malloc((g->n_nodes + 1) * sizeof *order), n = 0;
  bool *seen = calloc(g->n_nodes + 1, sizeof *seen);
  if (!order || !seen) return free(order), free(seen), NULL;
  for (uint32_t k = 0; k < g->n_nodes; k++)
    if (g->nodes[k].type == EVSNN_NIR_INPUT) order[n++] = k, seen[k] = true;
  for (uint32_t at = 0; at < n || n < g->n_nodes; at++) {
    if (at == n) /* unreachable from an Input: take the first one left */
      for (uint32_t k = 0; k < g->n_nodes; k++)
        if (!seen[k]) {
          order[n++] = k, seen[k] = true;
          break;
        }
    for (uint32_t e = 0; e < g->n_edges; e++)
      if (g->edges[e].src == order[at] && !seen[g->edges[e].dst])
        order[n++] = g->edges[e].dst, seen[g->edges[e].dst] = true;
  }
  free(seen);
  return order;
}

static int nir_info(const char *path) {
  evsnn_nir_graph_t g;
  int err = evsnn_nir_read(path, &g);
  if (err) return cli_fail(err, path);
  uint32_t *order = flow_order(&g);
  if (!order) return evsnn_nir_free(&g), cli_fail(EVSNN_ENOMEM, path);
  printf("%s: NIR %s, %u nodes, %u edges\n", path, g.version[0] ? g.version : "(no version)", g.n_nodes, g.n_edges);
  for (uint32_t k = 0; k < g.n_nodes; k++) {
    const evsnn_nir_node_t *node = &g.nodes[order[k]];
    printf("  %-16s %-9s ", node->name, evsnn_nir_type_name(node->type));
    print_shape(&node->in);
    fputs(" -> ", stdout);
    print_shape(&node->out);
    putchar('\n');
    for (uint32_t p = 0; p < node->n_params; p++) print_param(&node->params[p]);
  }
  printf("edges:\n");
  for (uint32_t k = 0; k < g.n_nodes; k++)
    for (uint32_t e = 0; e < g.n_edges; e++)
      if (g.edges[e].src == order[k])
        printf("  %s -> %s\n", g.nodes[g.edges[e].src].name, g.nodes[g.edges[e].dst].name);
  /* What evsnn can run: the node types, then what the network can hold. */
  evsnn_nir_import_t o;
  evsnn_nir_import_defaults(&o);
  evsnn_net_t net;
  if ((err = evsnn_nir_check_types(&g))) {
    printf("evsnn runs it: no: %s\n", evsnn_error_detail());
  } else if ((err = evsnn_nir_to_net(&g, &o, &net))) {
    printf("evsnn runs it: no: %s\n", evsnn_error_detail());
  } else {
    printf("evsnn runs it: yes, as %u populations and %u projections (--model FILE.nir, evsnn nir import)\n",
           net.n_pops, net.n_projs);
    evsnn_net_free(&net);
  }
  free(order);
  evsnn_nir_free(&g);
  return 0;
}

static int nir_import(const char *path, const char *out, const evsnn_nir_import_t *o) {
  evsnn_nir_graph_t g;
  evsnn_net_t net;
  int err = evsnn_nir_read(path, &g);
  if (err) return cli_fail(err, path);
  bool had_reset = false;
  for (uint32_t n = 0; n < g.n_nodes; n++) had_reset |= evsnn_nir_param(&g.nodes[n], "v_reset") != NULL;
  if ((err = evsnn_nir_to_net(&g, o, &net))) {
    evsnn_nir_free(&g);
    return cli_fail(err, path);
  }
  const char *rule = o->rule == EVSNN_NIR_EULER ? "euler" : "exact";
  const char *reset = had_reset ? "v_reset of the file (zero)" : o->reset == EVSNN_NIR_RESET_ZERO ? "zero" : "subtract";
  char meta[1024];
  snprintf(meta, sizeof meta, "source=%s\nnir_version=%s\nnir_dt_s=%.9g\nnir_discretisation=%s\nnir_reset=%s\ndt_us=%.9g\n",
           path, g.version, o->dt, rule, had_reset ? "file" : reset, o->dt * 1e6);
  if ((err = evsnn_model_save(out, &net, meta, NULL))) {
    evsnn_net_free(&net);
    evsnn_nir_free(&g);
    return cli_fail(err, out);
  }
  char desc[1024];
  evsnn_net_describe(&net, desc, sizeof desc);
  printf("%s -> %s: %s (dt %g s, %s; reset: %s)\n", path, out, desc, o->dt, rule, reset);
  evsnn_net_free(&net);
  evsnn_nir_free(&g);
  return 0;
}

static int nir_export(const char *model, const char *out) {
  evsnn_net_t net;
  evsnn_nir_graph_t g;
  int err = evsnn_model_load(model, &net, NULL, NULL);
  if (err) return cli_fail(err, model);
  if ((err = evsnn_nir_from_net(&net, &g))) {
    evsnn_net_free(&net);
    return cli_fail(err, model);
  }
  err = evsnn_nir_write(out, &g);
  if (!err) printf("%s -> %s: NIR %s, %u nodes\n", model, out, EVSNN_NIR_VERSION, g.n_nodes);
  evsnn_nir_free(&g);
  evsnn_net_free(&net);
  return err ? cli_fail(err, out) : 0;
}

int evsnn_cmd_nir(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) return argc < 2 ? (usage_nir(), 2) : usage_nir();
  const char *what = argv[1], *file = NULL, *out = NULL;
  evsnn_nir_import_t o;
  evsnn_nir_import_defaults(&o);
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
    if (a[0] != '-' || !a[1]) {
      if (file) return cli_usage("nir %s: one file, got '%s' and '%s'", what, file, a);
      file = a;
      continue;
    }
    if (!val) return cli_usage("nir %s: %s needs a value", what, a);
    i++;
    if (!strcmp(a, "--out")) out = val;
    else if (!strcmp(a, "--dt")) {
      if (!cli_parse_double(a, val, &o.dt)) return 2;
      if (!(o.dt > 0 && o.dt < 10)) return cli_usage("nir %s: --dt is in seconds, > 0, got '%s'", what, val);
    } else if (!strcmp(a, "--discretisation")) {
      if (!strcmp(val, "exact")) o.rule = EVSNN_NIR_EXACT;
      else if (!strcmp(val, "euler")) o.rule = EVSNN_NIR_EULER;
      else return cli_usage("nir %s: --discretisation: expected exact or euler, got '%s'", what, val);
    } else if (!strcmp(a, "--reset")) {
      if (!strcmp(val, "zero")) o.reset = EVSNN_NIR_RESET_ZERO;
      else if (!strcmp(val, "subtract")) o.reset = EVSNN_NIR_RESET_SUBTRACT;
      else return cli_usage("nir %s: --reset: expected zero or subtract, got '%s'", what, val);
    } else {
      return cli_usage("nir %s: unknown option '%s' (see evsnn nir --help)", what, a);
    }
  }
  if (!file) return cli_usage("nir %s: FILE is required (see evsnn nir --help)", what);
  if (!strcmp(what, "info")) return nir_info(file);
  if (!out) return cli_usage("nir %s: --out is required", what);
  if (!strcmp(what, "import")) return nir_import(file, out, &o);
  if (!strcmp(what, "export")) return nir_export(file, out);
  return cli_usage("nir: unknown subcommand '%s': info, import or export", what);
}
