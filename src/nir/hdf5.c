/* NIR's HDF5 layout, read and written through libhdf5. The layout, as NIR's
 * reference implementation (nir/serialization.py) writes it:
 *   /version               string, e.g. "0.2.0" or "1.0.7"
 *   /node/type             string "NIRGraph"
 *   /node/edges            strings, (n_edges, 2): source and target names
 *   /node/nodes/NAME/type  string, the node type ("LIF", "Affine", ...)
 *   /node/nodes/NAME/P     one dataset per parameter P: float32/64 or int64,
 *                          scalar or array
 *   .../metadata           optional groups of free-form values, skipped
 * Strings may be variable-length (h5py's default) or fixed-length (older
 * numpy byte strings); both read. This file knows HDF5, nothing of what the
 * nodes mean (graph.c checks that). HDF5's own error printing is switched off
 * around every call: the library reports through evsnn__fail only. */
#include <errno.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "evsnn/nir.h"

typedef struct {
  H5E_auto2_t func;
  void *data;
} quiet_t;

static void quiet_on(quiet_t *q) {
  H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data);
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static void quiet_off(const quiet_t *q) { H5Eset_auto2(H5E_DEFAULT, q->func, q->data); }

static bool has(hid_t loc, const char *name) { return H5Lexists(loc, name, H5P_DEFAULT) > 0; }

/* A scalar string dataset into buf (cut to cap). */
static int read_string(hid_t loc, const char *name, char *buf, size_t cap, const char *where) {
  int err = 0;
  hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT), t = -1, mt = -1;
  if (ds < 0) return evsnn__fail(EVSNN_ECORRUPT, "%s: no '%s' dataset", where, name);
  t = H5Dget_type(ds);
  if (t < 0 || H5Tget_class(t) != H5T_STRING) {
    err = evsnn__fail(EVSNN_ECORRUPT, "%s: '%s' is not a string", where, name);
    goto done;
  }
  mt = H5Tcopy(H5T_C_S1);
  H5Tset_cset(mt, H5Tget_cset(t)); /* HDF5 converts no string between ASCII and UTF-8 */
  if (H5Tis_variable_str(t) > 0) {
    char *s = NULL;
    H5Tset_size(mt, H5T_VARIABLE);
    if (H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, &s) < 0 || !s) {
      err = evsnn__fail(EVSNN_EIO, "%s: cannot read '%s'", where, name);
      goto done;
    }
    snprintf(buf, cap, "%s", s);
    hid_t space = H5Dget_space(ds);
    H5Dvlen_reclaim(mt, space, H5P_DEFAULT, &s);
    H5Sclose(space);
  } else {
    size_t n = H5Tget_size(t);
    char *s = calloc(n + 1, 1);
    if (!s) {
      err = evsnn__fail(EVSNN_ENOMEM, "%s: '%s'", where, name);
      goto done;
    }
    H5Tset_size(mt, n);
    if (H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, s) < 0)
      err = evsnn__fail(EVSNN_EIO, "%s: cannot read '%s'", where, name);
    else
      snprintf(buf, cap, "%.*s", (int)n, s);
    free(s);
  }
done:
  if (mt >= 0) H5Tclose(mt);
  if (t >= 0) H5Tclose(t);
  H5Dclose(ds);
  return err;
}

typedef struct {
  const char *path;
  evsnn_nir_graph_t *g;
  uint32_t node;
  int err;
} read_ctx_t;

static int read_param(hid_t grp, const char *name, read_ctx_t *c) {
  const evsnn_nir_node_t *node = &c->g->nodes[c->node];
  int err = 0;
  hid_t ds = H5Dopen2(grp, name, H5P_DEFAULT), space = -1, t = -1;
  if (ds < 0) return evsnn__fail(EVSNN_EIO, "node '%s': cannot open '%s'", node->name, name);
  space = H5Dget_space(ds);
  t = H5Dget_type(ds);
  int rank = H5Sget_simple_extent_ndims(space);
  hsize_t dims[EVSNN_NIR_MAX_RANK];
  int64_t d64[EVSNN_NIR_MAX_RANK];
  if (rank < 0 || rank > EVSNN_NIR_MAX_RANK) {
    err = evsnn__fail(EVSNN_EUNSUPPORTED, "node '%s': parameter '%s' has more than %d dimensions", node->name, name,
                      EVSNN_NIR_MAX_RANK);
    goto done;
  }
  H5Sget_simple_extent_dims(space, dims, NULL);
  for (int d = 0; d < rank; d++) d64[d] = (int64_t)dims[d];
  H5T_class_t cls = H5Tget_class(t);
  if (cls == H5T_FLOAT) {
    if ((err = evsnn_nir_add_float(c->g, c->node, name, (uint32_t)rank, d64, NULL, H5Tget_size(t) > 4))) goto done;
    const evsnn_nir_param_t *p = evsnn_nir_param(&c->g->nodes[c->node], name);
    if (p->count && H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, p->f) < 0)
      err = evsnn__fail(EVSNN_EIO, "node '%s': cannot read '%s'", node->name, name);
  } else if (cls == H5T_INTEGER) {
    if ((err = evsnn_nir_add_int(c->g, c->node, name, (uint32_t)rank, d64, NULL))) goto done;
    const evsnn_nir_param_t *p = evsnn_nir_param(&c->g->nodes[c->node], name);
    if (p->count && H5Dread(ds, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, p->i) < 0)
      err = evsnn__fail(EVSNN_EIO, "node '%s': cannot read '%s'", node->name, name);
  } else if (cls == H5T_STRING) {
    char s[64] = "";
    read_string(grp, name, s, sizeof s, node->name);
    err = evsnn__fail(EVSNN_EUNSUPPORTED, "node '%s' (%s): parameter '%s' is the string '%s'; evsnn reads numbers",
                      node->name, evsnn_nir_type_name(node->type), name, s);
  } else {
    err = evsnn__fail(EVSNN_EUNSUPPORTED, "node '%s' (%s): parameter '%s' is neither float nor integer", node->name,
                      evsnn_nir_type_name(node->type), name);
  }
done:
  H5Tclose(t);
  H5Sclose(space);
  H5Dclose(ds);
  return err;
}

static herr_t read_member(hid_t grp, const char *name, const H5L_info_t *info, void *arg) {
  read_ctx_t *c = arg;
  if (!strcmp(name, "type") || !strcmp(name, "metadata")) return 0;
  if (c->g->nodes[c->node].type == EVSNN_NIR_GRAPH) return 0; /* refused whole by evsnn_nir_check_types */
  hid_t obj = H5Oopen(grp, name, H5P_DEFAULT);
  H5I_type_t kind = obj < 0 ? H5I_BADID : H5Iget_type(obj);
  if (obj >= 0) H5Oclose(obj);
  if (kind != H5I_DATASET) {
    c->err = evsnn__fail(EVSNN_EUNSUPPORTED, "node '%s': '%s' is a group, expected a parameter dataset",
                         c->g->nodes[c->node].name, name);
    return -1;
  }
  return (c->err = read_param(grp, name, c)) ? -1 : 0;
}

static herr_t read_node(hid_t nodes, const char *name, const H5L_info_t *info, void *arg) {
  read_ctx_t *c = arg;
  char type[64];
  hid_t grp = H5Gopen2(nodes, name, H5P_DEFAULT);
  if (grp < 0) {
    c->err = evsnn__fail(EVSNN_ECORRUPT, "node '%s': not a group", name);
    return -1;
  }
  char where[128];
  snprintf(where, sizeof where, "node '%s'", name);
  if ((c->err = read_string(grp, "type", type, sizeof type, where))) goto done;
  evsnn_nir_type_t t = evsnn_nir_type_from_name(type);
  if (t == EVSNN_NIR_UNKNOWN) {
    c->err = evsnn__fail(EVSNN_EUNSUPPORTED, "node '%s': unknown type '%s' (not in NIR's specification)", name, type);
    goto done;
  }
  if ((c->err = evsnn_nir_add_node(c->g, name, t, &c->node))) goto done;
  hsize_t at = 0;
  if (H5Literate(grp, H5_INDEX_NAME, H5_ITER_INC, &at, read_member, c) < 0 && !c->err)
    c->err = evsnn__fail(EVSNN_EIO, "node '%s': cannot list its parameters", name);
done:
  H5Gclose(grp);
  return c->err ? -1 : 0;
}

static int read_edges(hid_t graph, read_ctx_t *c) {
  if (!has(graph, "edges")) return 0;
  int err = 0;
  hid_t ds = H5Dopen2(graph, "edges", H5P_DEFAULT), space = H5Dget_space(ds), t = H5Dget_type(ds), mt = -1;
  hsize_t dims[2] = {0, 0};
  int rank = H5Sget_simple_extent_ndims(space);
  if (rank >= 1 && rank <= 2) H5Sget_simple_extent_dims(space, dims, NULL);
  size_t n = (size_t)dims[0];
  if (n == 0) goto done; /* h5py writes an empty edge list as an empty array */
  if (rank != 2 || dims[1] != 2 || H5Tget_class(t) != H5T_STRING) {
    err = evsnn__fail(EVSNN_ECORRUPT, "edges: expected (n, 2) strings");
    goto done;
  }
  mt = H5Tcopy(H5T_C_S1);
  H5Tset_cset(mt, H5Tget_cset(t));
  bool var = H5Tis_variable_str(t) > 0;
  size_t len = var ? sizeof(char *) : H5Tget_size(t);
  H5Tset_size(mt, var ? H5T_VARIABLE : len);
  char *buf = calloc(2 * n, len);
  if (!buf) {
    err = evsnn__fail(EVSNN_ENOMEM, "edges");
    goto done;
  }
  if (H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
    err = evsnn__fail(EVSNN_EIO, "edges: cannot read");
  } else {
    for (size_t e = 0; e < n && !err; e++) {
      char a[256], b[256];
      if (var) {
        char **s = (char **)buf;
        snprintf(a, sizeof a, "%s", s[2 * e] ? s[2 * e] : "");
        snprintf(b, sizeof b, "%s", s[2 * e + 1] ? s[2 * e + 1] : "");
      } else {
        snprintf(a, sizeof a, "%.*s", (int)len, buf + 2 * e * len);
        snprintf(b, sizeof b, "%.*s", (int)len, buf + (2 * e + 1) * len);
      }
      err = evsnn_nir_add_edge(c->g, a, b);
    }
    if (var) H5Dvlen_reclaim(mt, space, H5P_DEFAULT, buf);
  }
  free(buf);
done:
  if (mt >= 0) H5Tclose(mt);
  H5Tclose(t);
  H5Sclose(space);
  H5Dclose(ds);
  return err;
}

static int read_file(hid_t f, read_ctx_t *c) {
  char type[64];
  int err;
  if (has(f, "version") && (err = read_string(f, "version", c->g->version, sizeof c->g->version, "version")))
    return err;
  if (!has(f, "node"))
    return evsnn__fail(EVSNN_EFORMAT, "an HDF5 file without a NIR graph (no /node group)");
  hid_t graph = H5Gopen2(f, "node", H5P_DEFAULT);
  if (graph < 0) return evsnn__fail(EVSNN_EFORMAT, "an HDF5 file without a NIR graph (/node is not a group)");
  if ((err = read_string(graph, "type", type, sizeof type, "/node"))) goto done;
  if (strcmp(type, "NIRGraph")) {
    err = evsnn__fail(EVSNN_EFORMAT, "/node is a '%s', expected a NIRGraph", type);
    goto done;
  }
  if (!has(graph, "nodes")) {
    err = evsnn__fail(EVSNN_EFORMAT, "an HDF5 file without a NIR graph (no /node/nodes group)");
    goto done;
  }
  hid_t nodes = H5Gopen2(graph, "nodes", H5P_DEFAULT);
  hsize_t at = 0;
  if (H5Literate(nodes, H5_INDEX_NAME, H5_ITER_INC, &at, read_node, c) < 0 && !c->err)
    c->err = evsnn__fail(EVSNN_EIO, "/node/nodes: cannot list the nodes");
  H5Gclose(nodes);
  if (!(err = c->err)) err = read_edges(graph, c);
done:
  H5Gclose(graph);
  return err;
}

/* Prefixes the detail of a failure with the file's name. */
static int in_file(int err, const char *path) {
  char detail[512];
  snprintf(detail, sizeof detail, "%s", evsnn_error_detail());
  return evsnn__fail(err, "%s: %s", path, detail);
}

int evsnn_nir_read(const char *path, evsnn_nir_graph_t *g) {
  evsnn_nir_init(g);
  g->version[0] = '\0';
  FILE *probe = fopen(path, "rb");
  if (!probe) return evsnn__fail(errno == ENOENT ? EVSNN_ENOENT : EVSNN_EIO, "%s: %s", path, strerror(errno));
  fclose(probe);
  quiet_t q;
  quiet_on(&q);
  int err = 0;
  hid_t f = -1;
  if (H5Fis_hdf5(path) <= 0 || (f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0) {
    err = evsnn__fail(EVSNN_EFORMAT, "%s: not an HDF5 file (a NIR file is HDF5)", path);
  } else {
    read_ctx_t c = {path, g, 0, 0};
    if (!(err = read_file(f, &c))) err = evsnn_nir_check(g);
    if (err) err = in_file(err, path);
    H5Fclose(f);
  }
  quiet_off(&q);
  if (err) evsnn_nir_free(g);
  return err;
}

/* ------------------------------------------------------------- write ---- */

static hid_t vlen_string(void) {
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  return t;
}

static bool write_string(hid_t loc, const char *name, const char *s) {
  hid_t t = vlen_string(), space = H5Screate(H5S_SCALAR);
  hid_t ds = H5Dcreate2(loc, name, t, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  bool ok = ds >= 0 && H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, &s) >= 0;
  if (ds >= 0) H5Dclose(ds);
  H5Sclose(space);
  H5Tclose(t);
  return ok;
}

static bool write_param(hid_t grp, const evsnn_nir_param_t *p) {
  hsize_t dims[EVSNN_NIR_MAX_RANK];
  for (uint32_t d = 0; d < p->rank; d++) dims[d] = (hsize_t)p->dims[d];
  hid_t space = p->rank ? H5Screate_simple((int)p->rank, dims, NULL) : H5Screate(H5S_SCALAR);
  hid_t ft = p->is_int ? H5T_STD_I64LE : p->wide ? H5T_IEEE_F64LE : H5T_IEEE_F32LE;
  hid_t ds = H5Dcreate2(grp, p->name, ft, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  bool ok = ds >= 0 && (p->count == 0 || H5Dwrite(ds, p->is_int ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE, H5S_ALL,
                                                  H5S_ALL, H5P_DEFAULT, p->is_int ? (void *)p->i : (void *)p->f) >= 0);
  if (ds >= 0) H5Dclose(ds);
  H5Sclose(space);
  return ok;
}

static bool write_graph(hid_t f, const evsnn_nir_graph_t *g) {
  bool ok = write_string(f, "version", EVSNN_NIR_VERSION);
  hid_t graph = H5Gcreate2(f, "node", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (graph < 0) return false;
  ok = ok && write_string(graph, "type", "NIRGraph");
  hid_t nodes = H5Gcreate2(graph, "nodes", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  for (uint32_t n = 0; ok && n < g->n_nodes; n++) {
    const evsnn_nir_node_t *node = &g->nodes[n];
    hid_t grp = H5Gcreate2(nodes, node->name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ok = grp >= 0 && write_string(grp, "type", evsnn_nir_type_name(node->type));
    for (uint32_t k = 0; ok && k < node->n_params; k++) ok = write_param(grp, &node->params[k]);
    if (grp >= 0) H5Gclose(grp);
  }
  if (nodes >= 0) H5Gclose(nodes);
  const char **names = malloc((2 * (size_t)g->n_edges + 1) * sizeof *names);
  ok = ok && names;
  for (uint32_t e = 0; ok && e < g->n_edges; e++) {
    names[2 * e] = g->nodes[g->edges[e].src].name;
    names[2 * e + 1] = g->nodes[g->edges[e].dst].name;
  }
  if (ok) {
    hsize_t dims[2] = {g->n_edges, 2};
    hid_t t = vlen_string(), space = H5Screate_simple(2, dims, NULL);
    hid_t ds = H5Dcreate2(graph, "edges", t, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ok = ds >= 0 && (g->n_edges == 0 || H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, names) >= 0);
    if (ds >= 0) H5Dclose(ds);
    H5Sclose(space);
    H5Tclose(t);
  }
  free(names);
  H5Gclose(graph);
  return ok;
}

int evsnn_nir_write(const char *path, evsnn_nir_graph_t *g) {
  int err = evsnn_nir_check(g);
  if (err) return err;
  size_t n = strlen(path);
  char *tmp = malloc(n + 5);
  if (!tmp) return evsnn__fail(EVSNN_ENOMEM, "%s", path);
  memcpy(tmp, path, n);
  memcpy(tmp + n, ".tmp", 5);
  quiet_t q;
  quiet_on(&q);
  hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (f < 0) {
    err = evsnn__fail(EVSNN_EIO, "%s: cannot create", tmp);
  } else {
    bool ok = write_graph(f, g);
    ok = H5Fclose(f) >= 0 && ok;
    if (!ok)
      err = evsnn__fail(EVSNN_EIO, "%s: HDF5 failed to write the graph", tmp);
    else if (rename(tmp, path))
      err = evsnn__fail(EVSNN_EIO, "%s: %s", path, strerror(errno));
    if (err) remove(tmp);
  }
  quiet_off(&q);
  free(tmp);
  return err;
}
