/* NIR: the real files of ../shared/nir, write -> read round trips, shape
 * inference, every bad-file case (fixtures written here through libhdf5),
 * the discretisation against the closed-form LIF, and the mapping onto
 * evsnn's network and back. */
#include <criterion/criterion.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evsnn.h"

static char path[64];

static void setup(void) {
  strcpy(path, "/tmp/evsnn-nir-XXXXXX");
  int fd = mkstemp(path);
  cr_assert(fd >= 0);
  close(fd);
}

static void teardown(void) { unlink(path); }

TestSuite(nir, .init = setup, .fini = teardown);

/* ../shared/nir/NAME, or NULL (and a message) when the folder is absent. */
static const char *shared(const char *name) {
  static char buf[1024];
  const char *src = getenv("EVSNN_SRCDIR");
  snprintf(buf, sizeof buf, "%s/../shared/nir/%s", src ? src : ".", name);
  if (access(buf, R_OK)) {
    cr_log_warn("skipped: %s is absent (the shared NIR files)", buf);
    return NULL;
  }
  return buf;
}

static const evsnn_nir_node_t *node(const evsnn_nir_graph_t *g, const char *name) {
  int64_t n = evsnn_nir_find(g, name);
  cr_assert(n >= 0, "no node '%s'", name);
  return &g->nodes[n];
}

static const evsnn_nir_param_t *param(const evsnn_nir_graph_t *g, const char *n, const char *p) {
  const evsnn_nir_param_t *q = evsnn_nir_param(node(g, n), p);
  cr_assert(q, "node '%s' has no '%s'", n, p);
  return q;
}

static void expect_shape(const evsnn_nir_shape_t *s, uint32_t rank, const int64_t *dims) {
  cr_assert_eq(s->rank, rank);
  for (uint32_t d = 0; d < rank; d++) cr_expect_eq(s->dims[d], dims[d], "dim %u", d);
}

/* ------------------------------------------------------- real files ---- */

Test(nir, reads_the_sinabs_cnn_with_its_shapes) {
  const char *f = shared("cnn_sinabs.nir");
  if (!f) return;
  evsnn_nir_graph_t g;
  cr_assert_eq(evsnn_nir_read(f, &g), 0, "%s", evsnn_error_detail());
  cr_expect_str_eq(g.version, "0.2.0");
  cr_expect_eq(g.n_nodes, 15);
  cr_expect_eq(g.n_edges, 14);
  expect_shape(&node(&g, "input")->out, 3, (int64_t[]){2, 34, 34});
  expect_shape(&node(&g, "0")->out, 3, (int64_t[]){16, 16, 16}); /* 5x5, stride 2, padding 1 */
  expect_shape(&node(&g, "4")->out, 3, (int64_t[]){16, 8, 8});   /* SumPool2d 2 */
  expect_shape(&node(&g, "5")->out, 3, (int64_t[]){8, 8, 8});
  expect_shape(&node(&g, "8")->out, 1, (int64_t[]){128}); /* Flatten from dimension 0 */
  expect_shape(&node(&g, "12")->out, 1, (int64_t[]){10});
  /* Values read by hand with h5dump -d /node/nodes/9/weight. */
  const evsnn_nir_param_t *w = param(&g, "9", "weight");
  cr_expect_eq(w->rank, 2);
  cr_expect_eq(w->dims[0], 256);
  cr_expect_eq(w->dims[1], 128);
  cr_expect_float_eq(w->f[0], -0.017097, 1e-6);
  cr_expect_float_eq(w->f[128], -0.0419809, 1e-6);
  cr_expect_eq(param(&g, "0", "groups")->i[0], 1);
  cr_expect_eq(param(&g, "0", "stride")->i[1], 2);
  cr_expect_eq(param(&g, "1", "v_threshold")->f[4095], 1.0);
  cr_expect_eq(evsnn_nir_param(node(&g, "1"), "v_reset"), NULL, "a 0.2.0 file has no v_reset; none is invented");
  cr_expect_eq(evsnn_nir_check_types(&g), 0, "%s", evsnn_error_detail());
  evsnn_nir_free(&g);
}

Test(nir, reads_the_single_neuron_files) {
  const char *f = shared("lif_rockpool.nir");
  if (!f) return;
  evsnn_nir_graph_t g;
  cr_assert_eq(evsnn_nir_read(f, &g), 0, "%s", evsnn_error_detail());
  cr_expect_eq(param(&g, "0_LinearTorch", "weight")->f[0], (double)0.04f);
  cr_expect_eq(param(&g, "1_LIFNeuronTorch", "tau")->f[0], (double)0.0025f);
  cr_expect_float_eq(param(&g, "1_LIFNeuronTorch", "r")->f[0], 24.0197, 1e-4);
  cr_expect(!param(&g, "1_LIFNeuronTorch", "r")->wide, "float32 in the file");
  /* Rockpool's Output is (1, 1, 1) after a LIF of one neuron: accepted. */
  expect_shape(&node(&g, "output")->in, 3, (int64_t[]){1, 1, 1});
  evsnn_nir_free(&g);

  cr_assert_eq(evsnn_nir_read(shared("lif_norse.nir"), &g), 0, "%s", evsnn_error_detail());
  cr_expect_str_eq(g.version, "0.1.1");
  cr_expect_eq(param(&g, "1", "v_threshold")->f[0], (double)0.1f);
  cr_expect_eq(param(&g, "0", "bias")->f[0], 0.0);
  evsnn_nir_free(&g);

  cr_assert_eq(evsnn_nir_read(shared("two_lif_neurons.nir"), &g), 0, "%s", evsnn_error_detail());
  cr_expect_eq(param(&g, "lif1", "v_leak")->f[0], 1.2);
  cr_expect(param(&g, "lif1", "v_leak")->wide, "float64 in this file: kept as such");
  cr_expect_eq(param(&g, "lif2", "v_threshold")->f[0], 20.0);
  evsnn_nir_free(&g);
}

Test(nir, reads_the_recurrent_braille_networks) {
  const char *f = shared("braille_noDelay_bias_zero.nir");
  if (!f) return;
  evsnn_nir_graph_t g;
  cr_assert_eq(evsnn_nir_read(f, &g), 0, "%s", evsnn_error_detail());
  expect_shape(&node(&g, "lif1.lif")->out, 1, (int64_t[]){38});
  expect_shape(&node(&g, "lif1.w_rec")->in, 1, (int64_t[]){38});
  cr_expect_eq(param(&g, "lif1.lif", "tau_syn")->count, 38);
  cr_expect_eq(param(&g, "fc1", "weight")->dims[1], 12);
  evsnn_nir_free(&g);
  cr_assert_eq(evsnn_nir_read(shared("braille_noDelay_noBias_subtract.nir"), &g), 0, "%s", evsnn_error_detail());
  expect_shape(&node(&g, "lif1.lif")->out, 1, (int64_t[]){40});
  cr_expect_eq(evsnn_nir_param(node(&g, "fc1"), "bias"), NULL);
  evsnn_nir_free(&g);
}

static void expect_same_graph(const evsnn_nir_graph_t *a, const evsnn_nir_graph_t *b) {
  cr_assert_eq(a->n_nodes, b->n_nodes);
  cr_assert_eq(a->n_edges, b->n_edges);
  for (uint32_t n = 0; n < a->n_nodes; n++) {
    const evsnn_nir_node_t *x = &a->nodes[n], *y = node(b, x->name);
    cr_assert_eq(x->type, y->type, "%s", x->name);
    cr_assert_eq(x->n_params, y->n_params, "%s", x->name);
    for (uint32_t k = 0; k < x->n_params; k++) {
      const evsnn_nir_param_t *p = &x->params[k], *q = evsnn_nir_param(y, p->name);
      cr_assert(q, "%s.%s lost", x->name, p->name);
      cr_assert_eq(p->is_int, q->is_int);
      cr_assert_eq(p->wide, q->wide);
      cr_assert_eq(p->rank, q->rank);
      cr_assert_eq(p->count, q->count);
      cr_assert_eq(memcmp(p->dims, q->dims, p->rank * sizeof *p->dims), 0);
      if (p->is_int)
        cr_assert_eq(memcmp(p->i, q->i, p->count * sizeof *p->i), 0, "%s.%s", x->name, p->name);
      else
        cr_assert_eq(memcmp(p->f, q->f, p->count * sizeof *p->f), 0, "%s.%s", x->name, p->name);
    }
  }
  for (uint32_t e = 0; e < a->n_edges; e++) {
    cr_assert_str_eq(a->nodes[a->edges[e].src].name, b->nodes[b->edges[e].src].name);
    cr_assert_str_eq(a->nodes[a->edges[e].dst].name, b->nodes[b->edges[e].dst].name);
  }
}

Test(nir, write_then_read_keeps_every_parameter_of_every_shared_file) {
  const char *names[] = {"cnn_sinabs.nir", "lif_norse.nir", "lif_rockpool.nir", "two_lif_neurons.nir",
                         "braille_noDelay_bias_zero.nir", "braille_noDelay_noBias_subtract.nir"};
  for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
    const char *f = shared(names[k]);
    if (!f) return;
    evsnn_nir_graph_t a, b;
    cr_assert_eq(evsnn_nir_read(f, &a), 0, "%s", evsnn_error_detail());
    cr_assert_eq(evsnn_nir_write(path, &a), 0, "%s", evsnn_error_detail());
    cr_assert_eq(evsnn_nir_read(path, &b), 0, "%s: %s", names[k], evsnn_error_detail());
    cr_expect_str_eq(b.version, EVSNN_NIR_VERSION);
    expect_same_graph(&a, &b);
    evsnn_nir_free(&a);
    evsnn_nir_free(&b);
  }
}

/* ------------------------------------------------- shape inference ---- */

static void add_f(evsnn_nir_graph_t *g, uint32_t n, const char *name, uint32_t rank, const int64_t *dims, double v) {
  size_t count = 1;
  for (uint32_t d = 0; d < rank; d++) count *= (size_t)dims[d];
  double *f = malloc(count * sizeof *f);
  for (size_t i = 0; i < count; i++) f[i] = (float)(v + 0.001 * (double)i); /* float32, as written */
  cr_assert_eq(evsnn_nir_add_float(g, n, name, rank, dims, f, false), 0, "%s", evsnn_error_detail());
  free(f);
}

static void add_i(evsnn_nir_graph_t *g, uint32_t n, const char *name, uint32_t count, const int64_t *v) {
  cr_assert_eq(evsnn_nir_add_int(g, n, name, count > 1 ? 1 : 0, (int64_t[]){count}, v), 0);
}

static uint32_t add_node(evsnn_nir_graph_t *g, const char *name, evsnn_nir_type_t t) {
  uint32_t n;
  cr_assert_eq(evsnn_nir_add_node(g, name, t, &n), 0, "%s", evsnn_error_detail());
  return n;
}

static void chain(evsnn_nir_graph_t *g) {
  for (uint32_t n = 1; n < g->n_nodes; n++)
    cr_assert_eq(evsnn_nir_add_edge(g, g->nodes[n - 1].name, g->nodes[n].name), 0);
}

Test(nir, infers_shapes_through_grouped_strided_dilated_conv_pool_and_flatten) {
  evsnn_nir_graph_t g;
  evsnn_nir_init(&g);
  add_i(&g, add_node(&g, "in", EVSNN_NIR_INPUT), "shape", 3, (int64_t[]){2, 9, 9});
  uint32_t c = add_node(&g, "conv", EVSNN_NIR_CONV2D);
  add_f(&g, c, "weight", 4, (int64_t[]){4, 1, 3, 3}, 0.1);
  add_f(&g, c, "bias", 1, (int64_t[]){4}, 0);
  add_i(&g, c, "stride", 1, (int64_t[]){2});
  add_i(&g, c, "padding", 2, (int64_t[]){1, 2});
  add_i(&g, c, "dilation", 2, (int64_t[]){2, 1});
  add_i(&g, c, "groups", 1, (int64_t[]){2});
  uint32_t p = add_node(&g, "pool", EVSNN_NIR_AVGPOOL2D);
  add_i(&g, p, "kernel_size", 1, (int64_t[]){2});
  add_i(&g, p, "stride", 1, (int64_t[]){2});
  add_i(&g, p, "padding", 1, (int64_t[]){0});
  uint32_t f = add_node(&g, "flat", EVSNN_NIR_FLATTEN);
  add_i(&g, f, "start_dim", 1, (int64_t[]){0});
  add_i(&g, f, "end_dim", 1, (int64_t[]){-1});
  uint32_t a = add_node(&g, "fc", EVSNN_NIR_AFFINE);
  add_f(&g, a, "weight", 2, (int64_t[]){3, 24}, 0.2);
  add_f(&g, a, "bias", 1, (int64_t[]){3}, 0.5);
  uint32_t li = add_node(&g, "li", EVSNN_NIR_LI);
  add_f(&g, li, "tau", 0, NULL, 0.01); /* scalars: broadcast to the 3 neurons */
  add_f(&g, li, "r", 0, NULL, 1);
  add_f(&g, li, "v_leak", 1, (int64_t[]){3}, 0);
  add_i(&g, add_node(&g, "out", EVSNN_NIR_OUTPUT), "shape", 1, (int64_t[]){3});
  chain(&g);
  cr_assert_eq(evsnn_nir_check(&g), 0, "%s", evsnn_error_detail());
  /* H: (9 + 2*1 - 2*(3-1) - 1)/2 + 1 = 4; W: (9 + 2*2 - 1*(3-1) - 1)/2 + 1 = 6 */
  expect_shape(&node(&g, "conv")->out, 3, (int64_t[]){4, 4, 6});
  expect_shape(&node(&g, "pool")->out, 3, (int64_t[]){4, 2, 3});
  expect_shape(&node(&g, "flat")->out, 1, (int64_t[]){24});
  const evsnn_nir_param_t *tau = param(&g, "li", "tau");
  cr_expect_eq(tau->rank, 1);
  cr_expect_eq(tau->count, 3);
  cr_expect_eq(tau->f[2], (double)0.01f);
  cr_assert_eq(evsnn_nir_write(path, &g), 0, "%s", evsnn_error_detail());
  evsnn_nir_graph_t b;
  cr_assert_eq(evsnn_nir_read(path, &b), 0, "%s", evsnn_error_detail());
  expect_same_graph(&g, &b);
  evsnn_nir_free(&b);
  evsnn_nir_free(&g);
}

/* --------------------------------------------------------- bad files ---- */

/* Raw HDF5 writers, so that fixtures can be wrong in ways evsnn_nir_write
 * refuses to produce. */
static void h5_string(hid_t loc, const char *name, const char *s) {
  hid_t t = H5Tcopy(H5T_C_S1), sp = H5Screate(H5S_SCALAR);
  H5Tset_size(t, H5T_VARIABLE);
  hid_t ds = H5Dcreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  cr_assert(ds >= 0);
  H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, &s);
  H5Dclose(ds);
  H5Sclose(sp);
  H5Tclose(t);
}

static void h5_floats(hid_t loc, const char *name, hsize_t n, const float *v) {
  hid_t sp = H5Screate_simple(1, &n, NULL);
  hid_t ds = H5Dcreate2(loc, name, H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
  H5Dclose(ds);
  H5Sclose(sp);
}

static void h5_matrix(hid_t loc, const char *name, hsize_t rows, hsize_t cols) {
  hsize_t dims[2] = {rows, cols};
  float *v = calloc(rows * cols, sizeof *v);
  hid_t sp = H5Screate_simple(2, dims, NULL);
  hid_t ds = H5Dcreate2(loc, name, H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
  H5Dclose(ds);
  H5Sclose(sp);
  free(v);
}

static void h5_shape(hid_t loc, int64_t n) {
  hsize_t one = 1;
  hid_t sp = H5Screate_simple(1, &one, NULL);
  hid_t ds = H5Dcreate2(loc, "shape", H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite(ds, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, &n);
  H5Dclose(ds);
  H5Sclose(sp);
}

typedef struct {
  int lif_n;          /* neurons of the LIF (the Linear gives 3) */
  float tau;          /* NaN for the NaN case */
  const char *target; /* the Linear's edge target */
  const char *type;   /* the LIF node's type string */
} fixture_t;

/* Input(2) -> Linear(3x2) -> LIF(lif_n) -> Output, with the faults asked for. */
static void write_fixture(const fixture_t *fx) {
  hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  cr_assert(f >= 0);
  h5_string(f, "version", "1.0.7");
  hid_t g = H5Gcreate2(f, "node", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  h5_string(g, "type", "NIRGraph");
  hid_t nodes = H5Gcreate2(g, "nodes", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  hid_t n = H5Gcreate2(nodes, "in", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  h5_string(n, "type", "Input");
  h5_shape(n, 2);
  H5Gclose(n);
  n = H5Gcreate2(nodes, "fc", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  h5_string(n, "type", "Linear");
  h5_matrix(n, "weight", 3, 2);
  H5Gclose(n);
  n = H5Gcreate2(nodes, "lif", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  h5_string(n, "type", fx->type ? fx->type : "LIF");
  float tau[8], one[8], zero[8];
  for (int k = 0; k < 8; k++) tau[k] = 0.01f, one[k] = 1, zero[k] = 0;
  tau[fx->lif_n - 1] = fx->tau;
  h5_floats(n, fx->type && !strcmp(fx->type, "Delay") ? "delay" : "tau", (hsize_t)fx->lif_n, tau);
  h5_floats(n, "r", (hsize_t)fx->lif_n, one);
  h5_floats(n, "v_leak", (hsize_t)fx->lif_n, zero);
  h5_floats(n, "v_threshold", (hsize_t)fx->lif_n, one);
  H5Gclose(n);
  n = H5Gcreate2(nodes, "out", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  h5_string(n, "type", "Output");
  h5_shape(n, fx->lif_n);
  H5Gclose(n);
  H5Gclose(nodes);
  const char *names[6] = {"in", "fc", "fc", fx->target ? fx->target : "lif", "lif", "out"};
  hsize_t dims[2] = {3, 2};
  hid_t t = H5Tcopy(H5T_C_S1), sp = H5Screate_simple(2, dims, NULL);
  H5Tset_size(t, H5T_VARIABLE);
  hid_t ds = H5Dcreate2(g, "edges", t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, names);
  H5Dclose(ds);
  H5Sclose(sp);
  H5Tclose(t);
  H5Gclose(g);
  H5Fclose(f);
}

static void expect_read_error(int code, const char *needle) {
  evsnn_nir_graph_t g;
  int err = evsnn_nir_read(path, &g);
  cr_expect_eq(err, code, "got %s: %s", evsnn_err_name(err), evsnn_error_detail());
  cr_expect(strstr(evsnn_error_detail(), needle), "detail '%s' lacks '%s'", evsnn_error_detail(), needle);
  cr_expect(strstr(evsnn_error_detail(), path), "detail '%s' names no file", evsnn_error_detail());
  cr_expect(!strchr(evsnn_error_detail(), '\n'), "one line");
  cr_expect_eq(g.n_nodes, 0, "nothing is left allocated");
}

Test(nir, the_fixture_itself_is_good) {
  write_fixture(&(fixture_t){3, 0.01f, NULL, NULL});
  evsnn_nir_graph_t g;
  cr_assert_eq(evsnn_nir_read(path, &g), 0, "%s", evsnn_error_detail());
  evsnn_nir_free(&g);
}

Test(nir, refuses_a_file_that_is_not_hdf5) {
  FILE *f = fopen(path, "w");
  fputs("this is not HDF5\n", f);
  fclose(f);
  expect_read_error(EVSNN_EFORMAT, "not an HDF5 file");
  evsnn_nir_graph_t g;
  cr_expect_eq(evsnn_nir_read("/nonexistent/x.nir", &g), EVSNN_ENOENT);
}

Test(nir, refuses_hdf5_without_a_graph) {
  hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  h5_string(f, "version", "1.0.7");
  H5Fclose(f);
  expect_read_error(EVSNN_EFORMAT, "without a NIR graph");
}

/* Older writers used fixed-length byte strings (numpy's 'S'), ASCII. */
static void h5_fixed(hid_t loc, const char *name, const char *const *s, hsize_t rows, int rank) {
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, 8);
  hsize_t dims[2] = {rows, 2};
  hid_t sp = rank ? H5Screate_simple(rank, dims, NULL) : H5Screate(H5S_SCALAR);
  char buf[16][8] = {{0}};
  for (hsize_t k = 0; k < (rank ? 2 * rows : 1); k++) strncpy(buf[k], s[k], 8);
  hid_t ds = H5Dcreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
  H5Dclose(ds);
  H5Sclose(sp);
  H5Tclose(t);
}

static void write_fixed_file(const char *graph_type) {
  hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  h5_fixed(f, "version", (const char *[]){"0.1.0"}, 1, 0);
  hid_t g = H5Gcreate2(f, "node", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  h5_fixed(g, "type", (const char *[]){graph_type}, 1, 0);
  hid_t nodes = H5Gcreate2(g, "nodes", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  const char *names[] = {"in", "out"}, *types[] = {"Input", "Output"};
  for (int k = 0; k < 2; k++) {
    hid_t n = H5Gcreate2(nodes, names[k], H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    h5_fixed(n, "type", &types[k], 1, 0);
    h5_shape(n, 5);
    H5Gclose(n);
  }
  H5Gclose(nodes);
  h5_fixed(g, "edges", (const char *[]){"in", "out"}, 1, 2);
  H5Gclose(g);
  H5Fclose(f);
}

Test(nir, reads_fixed_length_ascii_strings) {
  write_fixed_file("NIRGraph");
  evsnn_nir_graph_t g;
  cr_assert_eq(evsnn_nir_read(path, &g), 0, "%s", evsnn_error_detail());
  cr_expect_str_eq(g.version, "0.1.0");
  cr_expect_eq(g.n_edges, 1);
  cr_expect_eq(node(&g, "out")->type, EVSNN_NIR_OUTPUT);
  expect_shape(&node(&g, "out")->in, 1, (int64_t[]){5});
  evsnn_nir_free(&g);
  write_fixed_file("LIF");
  expect_read_error(EVSNN_EFORMAT, "/node is a 'LIF', expected a NIRGraph");
}

Test(nir, refuses_an_edge_to_a_missing_node) {
  write_fixture(&(fixture_t){3, 0.01f, "lfi", NULL});
  expect_read_error(EVSNN_ECORRUPT, "no node named 'lfi'");
}

Test(nir, refuses_mismatched_shapes_naming_the_node) {
  write_fixture(&(fixture_t){4, 0.01f, NULL, NULL});
  expect_read_error(EVSNN_ECORRUPT, "node 'lif' (LIF): its input (4) does not match the output (3) of 'fc'");
}

Test(nir, refuses_nan_parameters_naming_the_node) {
  write_fixture(&(fixture_t){3, NAN, NULL, NULL});
  expect_read_error(EVSNN_ERANGE, "node 'lif' (LIF): tau[2] is NaN");
}

Test(nir, refuses_unknown_types_and_missing_parameters) {
  write_fixture(&(fixture_t){3, 0.01f, NULL, "Spiky"});
  expect_read_error(EVSNN_EUNSUPPORTED, "node 'lif': unknown type 'Spiky'");
  write_fixture(&(fixture_t){3, 0.01f, NULL, "CubaLIF"});
  expect_read_error(EVSNN_ECORRUPT, "node 'lif' (CubaLIF): no 'tau_syn' parameter");
}

Test(nir, names_node_types_evsnn_cannot_run) {
  struct {
    const char *type, *needle;
  } cases[] = {{"Delay", "node 'lif' (Delay): evsnn's projections have no synaptic delays"},
               {"Threshold", "node 'lif' (Threshold): evsnn has no stateless threshold"}};
  for (size_t k = 0; k < 2; k++) {
    write_fixture(&(fixture_t){3, 0.01f, NULL, cases[k].type});
    evsnn_nir_graph_t g;
    if (!strcmp(cases[k].type, "Threshold")) {
      /* Threshold needs its own parameter: add it through the API. */
      write_fixture(&(fixture_t){3, 0.01f, NULL, NULL});
      cr_assert_eq(evsnn_nir_read(path, &g), 0);
      g.nodes[evsnn_nir_find(&g, "lif")].type = EVSNN_NIR_THRESHOLD;
      add_f(&g, (uint32_t)evsnn_nir_find(&g, "lif"), "threshold", 1, (int64_t[]){3}, 1);
      cr_assert_eq(evsnn_nir_check(&g), 0, "%s", evsnn_error_detail());
    } else {
      cr_assert_eq(evsnn_nir_read(path, &g), 0, "%s", evsnn_error_detail());
    }
    cr_expect_eq(evsnn_nir_check_types(&g), EVSNN_EUNSUPPORTED);
    cr_expect(strstr(evsnn_error_detail(), cases[k].needle), "'%s'", evsnn_error_detail());
    evsnn_nir_free(&g);
  }
  evsnn_nir_graph_t g;
  evsnn_nir_init(&g);
  add_i(&g, add_node(&g, "in", EVSNN_NIR_INPUT), "shape", 2, (int64_t[]){1, 8});
  uint32_t c = add_node(&g, "c1", EVSNN_NIR_CONV1D);
  add_f(&g, c, "weight", 3, (int64_t[]){2, 1, 3}, 0.1);
  add_f(&g, c, "bias", 1, (int64_t[]){2}, 0);
  add_i(&g, c, "stride", 1, (int64_t[]){1});
  add_i(&g, c, "padding", 1, (int64_t[]){0});
  add_i(&g, c, "dilation", 1, (int64_t[]){1});
  add_i(&g, c, "groups", 1, (int64_t[]){1});
  chain(&g);
  cr_assert_eq(evsnn_nir_check(&g), 0, "%s", evsnn_error_detail());
  expect_shape(&node(&g, "c1")->out, 2, (int64_t[]){2, 6});
  cr_expect_eq(evsnn_nir_check_types(&g), EVSNN_EUNSUPPORTED);
  cr_expect(strstr(evsnn_error_detail(), "node 'c1' (Conv1d): evsnn has no one-dimensional convolution"), "'%s'",
            evsnn_error_detail());
  evsnn_nir_free(&g);
}

Test(nir, refuses_a_node_whose_shape_nothing_gives) {
  evsnn_nir_graph_t g;
  evsnn_nir_init(&g);
  uint32_t p = add_node(&g, "pool", EVSNN_NIR_SUMPOOL2D);
  add_i(&g, p, "kernel_size", 1, (int64_t[]){2});
  add_i(&g, p, "stride", 1, (int64_t[]){2});
  add_i(&g, p, "padding", 1, (int64_t[]){0});
  cr_expect_eq(evsnn_nir_check(&g), EVSNN_ECORRUPT);
  cr_expect(strstr(evsnn_error_detail(), "node 'pool' (SumPool2d): its shape cannot be inferred"), "'%s'",
            evsnn_error_detail());
  cr_expect_eq(evsnn_nir_add_node(&g, "pool", EVSNN_NIR_LIF, NULL), EVSNN_EINVAL, "names are unique");
  evsnn_nir_free(&g);
}

/* --------------------------------------------------- discretisation ---- */

/* A LIF neuron under constant current I: tau dv/dt = -v + R I, reset to 0
 * above theta. From 0 it reaches theta at t* = -tau ln(1 - theta / (R I)),
 * and again t* after every reset. The discretised neuron must fire each
 * interval within one step of t*. */
static void expect_closed_form_spikes(const evsnn_nir_graph_t *g, evsnn_nir_rule_t rule, double dt) {
  const evsnn_nir_node_t *lif = node(g, "lif");
  double tau = evsnn_nir_param(lif, "tau")->f[0], r = evsnn_nir_param(lif, "r")->f[0];
  double theta = evsnn_nir_param(lif, "v_threshold")->f[0], I = 3 * theta / r;
  double beta, scale;
  cr_assert_eq(evsnn_nir_discretise(rule, dt, tau, r, &beta, &scale), 0, "%s", evsnn_error_detail());
  double t_star = -tau * log(1 - theta / (r * I));
  double v = 0;
  int spikes = 0;
  long last = 0;
  for (long k = 1; k <= (long)(10 * t_star / dt) && spikes < 8; k++) {
    v = beta * v + scale * I;
    if (v > theta) {
      double interval = (double)(k - last) * dt;
      cr_expect(fabs(interval - t_star) <= dt, "rule %d, spike %d: after %g s, closed form %g s (dt %g)", rule,
                spikes, interval, t_star, dt);
      last = k;
      spikes++;
      v = 0;
    }
  }
  cr_expect_eq(spikes, 8, "rule %d: %d spikes", rule, spikes);
}

Test(nir, a_lif_neuron_spikes_at_the_closed_form_times_under_both_rules) {
  evsnn_nir_graph_t g;
  const char *f = shared("lif_norse.nir");
  if (f) {
    cr_assert_eq(evsnn_nir_read(f, &g), 0, "%s", evsnn_error_detail());
    /* Norse's names are "0" and "1": give the test's helper its name. */
    evsnn_nir_node_t *lif = &g.nodes[evsnn_nir_find(&g, "1")];
    free(lif->name);
    lif->name = strdup("lif");
  } else {
    evsnn_nir_init(&g);
    uint32_t n = add_node(&g, "lif", EVSNN_NIR_LIF);
    add_f(&g, n, "tau", 1, (int64_t[]){1}, 0.0025);
    add_f(&g, n, "r", 1, (int64_t[]){1}, 1);
    add_f(&g, n, "v_leak", 1, (int64_t[]){1}, 0);
    add_f(&g, n, "v_threshold", 1, (int64_t[]){1}, 0.1);
  }
  for (double dt = 1e-5; dt <= 2.1e-4; dt *= 4) {
    expect_closed_form_spikes(&g, EVSNN_NIR_EXACT, dt);
    expect_closed_form_spikes(&g, EVSNN_NIR_EULER, dt);
  }
  evsnn_nir_free(&g);
}

Test(nir, discretisation_rules_and_their_limits) {
  double beta, scale;
  cr_assert_eq(evsnn_nir_discretise(EVSNN_NIR_EXACT, 1e-3, 2e-2, 2, &beta, &scale), 0);
  cr_expect_float_eq(beta, exp(-0.05), 1e-15);
  cr_expect_float_eq(scale, 2 * (1 - exp(-0.05)), 1e-15);
  cr_assert_eq(evsnn_nir_discretise(EVSNN_NIR_EULER, 1e-3, 2e-2, 2, &beta, &scale), 0);
  cr_expect_float_eq(beta, 0.95, 1e-15);
  cr_expect_float_eq(scale, 0.1, 1e-15);
  cr_expect_eq(evsnn_nir_discretise(EVSNN_NIR_EULER, 3e-2, 2e-2, 1, &beta, &scale), EVSNN_ERANGE);
  cr_expect_eq(evsnn_nir_discretise(EVSNN_NIR_EXACT, 1e-3, 0, 1, &beta, &scale), EVSNN_ERANGE);
  cr_expect_eq(evsnn_nir_discretise(EVSNN_NIR_EXACT, 0, 1e-3, 1, &beta, &scale), EVSNN_ERANGE);
  /* snnTorch's export, read back with euler at its dt: beta, and scale 1. */
  double tau, r;
  evsnn_nir_snntorch_tau(0.9, EVSNN_NIR_SNNTORCH_DT, &tau, &r);
  cr_expect_float_eq(tau, 1e-3, 1e-15);
  cr_assert_eq(evsnn_nir_discretise(EVSNN_NIR_EULER, EVSNN_NIR_SNNTORCH_DT, tau, r, &beta, &scale), 0);
  cr_expect_float_eq(beta, 0.9, 1e-12);
  cr_expect_float_eq(scale, 1, 1e-12);
}

/* ------------------------------------------------------------ mapping ---- */

static void expect_same_net(const evsnn_net_t *a, const evsnn_net_t *b) {
  cr_assert_eq(a->n_layers, b->n_layers);
  cr_assert_eq(memcmp(a->sizes, b->sizes, sizeof a->sizes), 0);
  cr_assert_eq(memcmp(&a->beta, &b->beta, sizeof a->beta), 0, "beta %.9g vs %.9g", a->beta, b->beta);
  for (uint32_t m = 1; m <= a->n_layers; m++) {
    if (m < a->n_layers)
      cr_assert_eq(memcmp(&a->layer[m - 1].threshold, &b->layer[m - 1].threshold, sizeof(float)), 0,
                   "threshold %u: %.9g vs %.9g", m, a->layer[m - 1].threshold, b->layer[m - 1].threshold);
    for (uint32_t j = 0; j < a->sizes[m - 1]; j++)
      cr_assert_eq(memcmp(evsnn_net_w(a, m, 0, j), evsnn_net_w(b, m, 0, j), a->sizes[m] * sizeof(float)), 0,
                   "layer %u column %u", m, j);
  }
}

/* Same spikes and potentials, step by step, on one random input. */
static void expect_same_run(const evsnn_net_t *a, const evsnn_net_t *b) {
  evsnn_state_t sa, sb;
  cr_assert_eq(evsnn_state_init(&sa, a), 0);
  cr_assert_eq(evsnn_state_init(&sb, b), 0);
  evsnn_rng_t rng;
  evsnn_rng_init(&rng, 7, 0);
  uint32_t in[64], L = a->n_pops - 1;
  uint64_t total = 0;
  for (int t = 0; t < 30; t++) {
    uint32_t n = 0;
    for (uint32_t i = 0; i < a->pop[0].n && n < 64; i++)
      if (evsnn_rng_uniform(&rng) < 0.3) in[n++] = i;
    evsnn_state_step(&sa, in, n);
    evsnn_state_step(&sb, in, n);
    for (uint32_t m = 1; m < L; m++) {
      cr_assert_eq(sa.n_spikes[m], sb.n_spikes[m], "step %d layer %u", t, m);
      cr_assert_eq(memcmp(sa.spikes[m], sb.spikes[m], sa.n_spikes[m] * sizeof(uint32_t)), 0);
      total += sa.n_spikes[m];
    }
    if (a->pop[L].model == EVSNN_NEURON_LI)
      cr_assert_eq(memcmp(evsnn_state_potentials(&sa, L), evsnn_state_potentials(&sb, L), a->pop[L].n * sizeof(float)),
                   0, "step %d", t);
    else
      cr_assert_eq(sa.n_spikes[L], sb.n_spikes[L], "step %d", t);
  }
  cr_expect_gt(total, 0, "the hidden layers spiked: the comparison compared something");
  evsnn_state_free(&sa);
  evsnn_state_free(&sb);
}

Test(nir, export_then_import_gives_the_same_network_bit_for_bit) {
  float betas[] = {0.95f, 0.5f, 0.9f, 0.99f, 0.999f, 0.1f, 0.0f};
  for (size_t k = 0; k < sizeof betas / sizeof *betas; k++) {
    evsnn_net_t a, b;
    cr_assert_eq(evsnn_net_init(&a, (uint32_t[]){40, 30, 20, 6}, 4, betas[k]), 0);
    evsnn_net_init_params(&a, 3 + k, EVSNN_INIT_WIDTH, (float[]){0.4f, 0.3f});
    evsnn_nir_graph_t g, h;
    cr_assert_eq(evsnn_nir_from_net(&a, &g), 0, "beta %g: %s", betas[k], evsnn_error_detail());
    cr_expect_eq(node(&g, "q0")->params[0].dims[0], 30);
    cr_expect_eq(node(&g, a.pop[1].name)->type, EVSNN_NIR_LIF);
    if (betas[k] >= 0.5f && betas[k] < 1.0f)
      cr_expect(!param(&g, a.pop[1].name, "tau")->wide, "beta %g: float32, as snnTorch writes", betas[k]);
    cr_assert_eq(evsnn_nir_write(path, &g), 0, "%s", evsnn_error_detail());
    cr_assert_eq(evsnn_nir_read(path, &h), 0, "%s", evsnn_error_detail());
    evsnn_nir_import_t o;
    evsnn_nir_import_defaults(&o);
    cr_assert_eq(evsnn_nir_to_net(&h, &o, &b), 0, "beta %g: %s", betas[k], evsnn_error_detail());
    expect_same_net(&a, &b);
    if (k == 0) expect_same_run(&a, &b);
    evsnn_net_free(&a);
    evsnn_net_free(&b);
    evsnn_nir_free(&g);
    evsnn_nir_free(&h);
  }
}

/* Graph networks: the same populations, projections and parameters. */
static void expect_same_graph_net(const evsnn_net_t *a, const evsnn_net_t *b) {
  cr_assert_eq(a->n_pops, b->n_pops);
  cr_assert_eq(a->n_projs, b->n_projs);
  for (uint32_t m = 0; m < a->n_pops; m++) {
    const evsnn_pop_t *p = &a->pop[m], *q = &b->pop[m];
    cr_expect(p->c == q->c && p->h == q->h && p->w == q->w && p->model == q->model && p->reset == q->reset,
              "population %u", m);
    cr_expect_eq(memcmp(&p->beta, &q->beta, sizeof(float)), 0, "population %u beta %.9g %.9g", m, p->beta, q->beta);
    if (p->model != EVSNN_NEURON_LI && m)
      cr_expect_eq(memcmp(&p->threshold, &q->threshold, sizeof(float)), 0, "population %u threshold", m);
  }
  for (uint32_t k = 0; k < a->n_projs; k++) {
    const evsnn_proj_t *p = &a->proj[k], *q = &b->proj[k];
    cr_expect(p->kind == q->kind && p->src == q->src && p->dst == q->dst && p->pool_k == q->pool_k &&
                  p->pool_stride == q->pool_stride && p->pool_avg == q->pool_avg && p->k == q->k &&
                  p->stride == q->stride && p->pad == q->pad,
              "projection %u", k);
  }
  cr_assert_eq(a->n_params, b->n_params);
  cr_assert_eq(memcmp(a->params, b->params, a->n_params * sizeof(float)), 0, "parameters bit for bit");
}

Test(nir, a_conv_graph_exports_and_imports_bit_for_bit) {
  const char *descs[] = {
      "2x12x12 conv4c3s1p1 lif[beta=0.9,ts=1] avgpool2 conv6c3s2p1 if[ts=1] pool2 flatten dense7 lif[ts=1] rec "
      "dense3 li[beta=0.8]",
      "2x8x8 pool2 if[th=0.5] flatten dense5 lif[beta=0.95,th=0.3] dense4 if[th=0.2]",
  };
  for (size_t k = 0; k < 2; k++) {
    evsnn_net_t a, b;
    cr_assert_eq(evsnn_net_parse(&a, descs[k]), 0, "%s", evsnn_error_detail());
    evsnn_net_init_params(&a, 5, EVSNN_INIT_FANIN, NULL);
    evsnn_nir_graph_t g, h;
    cr_assert_eq(evsnn_nir_from_net(&a, &g), 0, "%s", evsnn_error_detail());
    cr_assert_eq(evsnn_nir_write(path, &g), 0, "%s", evsnn_error_detail());
    cr_assert_eq(evsnn_nir_read(path, &h), 0, "%s", evsnn_error_detail());
    evsnn_nir_import_t o;
    evsnn_nir_import_defaults(&o);
    cr_assert_eq(evsnn_nir_to_net(&h, &o, &b), 0, "%s", evsnn_error_detail());
    /* The same graph; only the threshold scale (init's rule, not the model)
     * has no NIR field, so the descriptions differ in ts= against th=. */
    expect_same_graph_net(&a, &b);
    expect_same_run(&a, &b);
    evsnn_net_free(&a);
    evsnn_net_free(&b);
    evsnn_nir_free(&g);
    evsnn_nir_free(&h);
  }
  /* Reset by subtraction: NIR cannot say it, so export refuses. */
  evsnn_net_t a;
  evsnn_nir_graph_t g;
  cr_assert_eq(evsnn_net_parse(&a, "4 dense3 lif[reset=subtract] dense2 li"), 0, "%s", evsnn_error_detail());
  cr_expect_eq(evsnn_nir_from_net(&a, &g), EVSNN_EUNSUPPORTED);
  cr_expect(strstr(evsnn_error_detail(), "resets by subtraction"), "'%s'", evsnn_error_detail());
  evsnn_net_free(&a);
}

static void expect_import_error(const char *file, const evsnn_nir_import_t *o, const char *needle) {
  evsnn_nir_graph_t g;
  evsnn_net_t net;
  cr_assert_eq(evsnn_nir_read(file, &g), 0, "%s", evsnn_error_detail());
  cr_expect_eq(evsnn_nir_to_net(&g, o, &net), EVSNN_EUNSUPPORTED);
  cr_expect(strstr(evsnn_error_detail(), needle), "'%s' lacks '%s'", evsnn_error_detail(), needle);
  cr_expect_eq(net.params, NULL, "nothing allocated");
  evsnn_nir_free(&g);
}

/* Population m's weights from input j to neuron i, in the graph view. */
static float dense_w(const evsnn_net_t *net, uint32_t q, uint32_t i, uint32_t j) {
  return net->proj[q].W[(size_t)j * net->proj[q].ld + i];
}

Test(nir, imports_the_shared_files_evsnn_can_run_and_names_what_the_others_lack) {
  evsnn_nir_import_t o;
  evsnn_nir_import_defaults(&o);
  const char *f = shared("cnn_sinabs.nir");
  if (!f) return;
  evsnn_nir_graph_t g;
  evsnn_net_t net;
  cr_assert_eq(evsnn_nir_read(f, &g), 0, "%s", evsnn_error_detail());
  cr_assert_eq(evsnn_nir_to_net(&g, &o, &net), 0, "%s", evsnn_error_detail());
  char desc[512];
  evsnn_net_describe(&net, desc, sizeof desc);
  cr_expect_str_eq(desc, "2x34x34 conv16c5s2p1 if[th=1.0000001] conv16c3p1 if[th=1.0000001] pool2 conv8c3p1 "
                         "if[th=1.0000001] pool2 flatten dense256 if[th=1.0000001] dense10 if[th=1.0000001]");
  /* Conv weights move from NIR's [co][ci][ky][kx] to evsnn's [ci][ky][kx][co]. */
  const double *w0 = param(&g, "0", "weight")->f;
  cr_expect_eq(net.proj[0].W[((1 * 5 + 2) * 5 + 3) * 16 + 7], (float)w0[((7 * 2 + 1) * 5 + 2) * 5 + 3]);
  /* The dense after pool2 + flatten: evsnn's input j is channels last on
   * the pooled 8x4x4 map, (y 4 + x) 8 + c; NIR's column is (c 4 + y) 4 + x. */
  const double *w9 = param(&g, "9", "weight")->f;
  uint32_t c = 5, y = 2, x = 3;
  cr_expect_eq(dense_w(&net, 3, 100, (y * 4 + x) * 8 + c), (float)w9[100 * 128 + (c * 4 + y) * 4 + x]);
  evsnn_net_free(&net);
  evsnn_nir_free(&g);

  /* Norse's single LIF: euler at 1e-4 s, tau 2.5 ms: beta 0.96, input
   * scale r dt / tau = 0.04 on the weight of 1; a spiking readout. */
  cr_assert_eq(evsnn_nir_read(shared("lif_norse.nir"), &g), 0, "%s", evsnn_error_detail());
  cr_assert_eq(evsnn_nir_to_net(&g, &o, &net), 0, "%s", evsnn_error_detail());
  cr_expect_eq(net.pop[1].model, EVSNN_NEURON_LIF);
  cr_expect_eq(net.pop[1].beta, (float)(1 - 1e-4 / (double)0.0025f));
  cr_expect_eq(net.pop[1].threshold, nextafterf(0.1f, 1.0f));
  cr_expect_eq(dense_w(&net, 0, 0, 0), (float)(1e-4 / (double)0.0025f));
  evsnn_net_free(&net);
  evsnn_nir_free(&g);

  expect_import_error(shared("two_lif_neurons.nir"), &o, "node 'lif1' (LIF): v_leak[0] is 1.2");
  expect_import_error(shared("braille_noDelay_bias_zero.nir"), &o,
                      "node 'lif1.lif' (CubaLIF): evsnn has no neuron with a synaptic current");
}

/* Input(4) -> Affine/Linear(3x4) -> LIF(3) -> Linear(2x3) -> LI(2) -> Output. */
static void small_graph(evsnn_nir_graph_t *g, double bias, double thr2, bool v_reset) {
  evsnn_nir_init(g);
  add_i(g, add_node(g, "in", EVSNN_NIR_INPUT), "shape", 1, (int64_t[]){4});
  uint32_t a = add_node(g, "fc1", EVSNN_NIR_AFFINE);
  add_f(g, a, "weight", 2, (int64_t[]){3, 4}, 0.5);
  add_f(g, a, "bias", 1, (int64_t[]){3}, bias);
  g->nodes[a].params[1].f[0] = g->nodes[a].params[1].f[1] = g->nodes[a].params[1].f[2] = bias;
  uint32_t l = add_node(g, "lif", EVSNN_NIR_LIF);
  add_f(g, l, "tau", 0, NULL, 0.002);
  add_f(g, l, "r", 0, NULL, 1);
  add_f(g, l, "v_leak", 0, NULL, 0);
  add_f(g, l, "v_threshold", 1, (int64_t[]){3}, 1);
  g->nodes[l].params[3].f[0] = g->nodes[l].params[3].f[1] = 1;
  g->nodes[l].params[3].f[2] = thr2;
  if (v_reset) add_f(g, l, "v_reset", 0, NULL, 0);
  uint32_t b = add_node(g, "fc2", EVSNN_NIR_LINEAR);
  add_f(g, b, "weight", 2, (int64_t[]){2, 3}, -0.25);
  uint32_t li = add_node(g, "li", EVSNN_NIR_LI);
  add_f(g, li, "tau", 0, NULL, 0.002);
  add_f(g, li, "r", 0, NULL, 1);
  add_f(g, li, "v_leak", 0, NULL, 0);
  add_i(g, add_node(g, "out", EVSNN_NIR_OUTPUT), "shape", 1, (int64_t[]){2});
  chain(g);
  cr_assert_eq(evsnn_nir_check(g), 0, "%s", evsnn_error_detail());
}

Test(nir, import_folds_the_input_scale_into_the_weights) {
  evsnn_nir_graph_t g;
  small_graph(&g, 0, 1, false);
  evsnn_nir_import_t o = {.dt = 1e-3, .rule = EVSNN_NIR_EXACT, .reset = EVSNN_NIR_RESET_ZERO};
  evsnn_net_t net;
  cr_assert_eq(evsnn_nir_to_net(&g, &o, &net), 0, "%s", evsnn_error_detail());
  float beta = (float)exp(-0.5), scale = (float)-expm1(-0.5);
  cr_expect_eq(net.beta, beta);
  cr_expect_eq(*evsnn_net_w(&net, 1, 1, 2), (float)(0.5 + 0.001 * 6) * scale, "row 1 column 2 of W, times R(1-beta)");
  cr_expect_eq(net.layer[0].threshold, nextafterf(1.0f, 2.0f), "v > 1 is v >= the float after 1");
  evsnn_net_free(&net);
  evsnn_nir_free(&g);
}

Test(nir, import_refuses_what_it_would_have_to_approximate) {
  evsnn_nir_import_t o;
  evsnn_nir_import_defaults(&o);
  evsnn_net_t net;
  struct {
    double bias, thr2;
    bool v_reset;
    evsnn_nir_reset_t reset;
    const char *needle;
  } cases[] = {
      {0.5, 1, false, EVSNN_NIR_RESET_ZERO, "node 'fc1' (Affine): bias[0] is 0.5, not 0"},
      {0, 2, false, EVSNN_NIR_RESET_ZERO, "node 'lif' (LIF): v_threshold[2] is 2, not 1: evsnn's populations have "
                                          "one threshold"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
    evsnn_nir_graph_t g;
    small_graph(&g, cases[k].bias, cases[k].thr2, cases[k].v_reset);
    o.reset = cases[k].reset;
    cr_expect_eq(evsnn_nir_to_net(&g, &o, &net), EVSNN_EUNSUPPORTED, "case %zu", k);
    cr_expect(strstr(evsnn_error_detail(), cases[k].needle), "'%s'", evsnn_error_detail());
    evsnn_nir_free(&g);
  }
  /* Without v_reset, --reset decides; with v_reset = 0, the file does. */
  evsnn_nir_graph_t g;
  small_graph(&g, 0, 1, false);
  o.reset = EVSNN_NIR_RESET_SUBTRACT;
  cr_expect_eq(evsnn_nir_to_net(&g, &o, &net), 0, "%s", evsnn_error_detail());
  cr_expect_eq(net.pop[1].reset, EVSNN_RESET_SUBTRACT);
  evsnn_net_free(&net);
  evsnn_nir_free(&g);
  small_graph(&g, 0, 1, true);
  cr_expect_eq(evsnn_nir_to_net(&g, &o, &net), 0, "%s", evsnn_error_detail());
  cr_expect_eq(net.pop[1].reset, EVSNN_RESET_ZERO);
  evsnn_net_free(&net);
  /* Two leaks: the LI's tau differs from the LIF's. */
  param(&g, "li", "tau")->f[1] = 0.003;
  cr_expect_eq(evsnn_nir_to_net(&g, &o, &net), EVSNN_EUNSUPPORTED);
  cr_expect(strstr(evsnn_error_detail(), "node 'li' (LI): neuron 1 steps with beta"), "'%s'", evsnn_error_detail());
  evsnn_nir_free(&g);
}
