/*
 * datagen_gpu._jpeg: region-of-interest and DCT-scaled JPEG decoding with
 * libjpeg(-turbo), for crop-aware data loading.
 *
 *   header(data) -> (height, width, num_components, colorspace, orientation)
 *   decode(data, top=0, left=0, height=-1, width=-1, scale=1, fast=False)
 *       -> (buf, y0, x0, h, w)
 *
 * Plain C against the CPython C API only (no torch, no numpy).  The window is
 * given in output (scaled) coordinates; libjpeg decodes whole iMCU columns, so
 * jpeg_crop_scanline() may move the left edge to an iMCU boundary and widen
 * the width: the actual (y0, x0, h, w) are returned with the pixels.  Rows
 * above the window are skipped (jpeg_skip_scanlines), rows below it are never
 * decoded (jpeg_abort via jpeg_destroy_decompress).
 *
 * Errors: libjpeg's error_exit longjmps back here and becomes a ValueError
 * carrying libjpeg's message.  libjpeg only *warns* about a truncated stream
 * (it pads with gray) or corrupt entropy data; every warning except the two
 * harmless ones (unknown JFIF revision, unknown Adobe transform) is made fatal,
 * so a damaged file raises instead of returning made-up rows.  CMYK / YCCK
 * (and any other non gray/YCbCr/RGB) streams raise UnsupportedError, a
 * ValueError subclass, so the caller can fall back to Pillow.
 *
 * The GIL is released while libjpeg runs; the input buffer view is held for
 * the whole call.  libjpeg state lives in a per-call struct, so concurrent
 * calls from several threads are independent.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <setjmp.h>
#include <stdio.h> /* jpeglib.h needs FILE and size_t */
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

static PyObject *UnsupportedError = NULL;

/* ---------------------------------------------------------------- errors -- */

typedef struct {
    struct jpeg_error_mgr pub; /* first: libjpeg casts cinfo->err to this */
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
} error_mgr;

static void on_error_exit(j_common_ptr cinfo) {
    error_mgr *err = (error_mgr *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, err->message);
    longjmp(err->jump, 1);
}

/* msg_level -1 is a warning (0.. are trace messages, ignored).  Warnings mean
 * corrupt or truncated data, except the two below, which do not touch pixels.
 * jerror.c names overriding emit_message as the way to abort on warnings. */
static void on_emit_message(j_common_ptr cinfo, int msg_level) {
    if (msg_level >= 0)
        return;
    switch (cinfo->err->msg_code) {
    case JWRN_JFIF_MAJOR:      /* unknown JFIF revision number */
    case JWRN_ADOBE_XFORM:     /* unknown Adobe transform code: libjpeg guesses */
    case JWRN_EXTRANEOUS_DATA: /* junk bytes before a marker: the image data is intact
                                  (some real datasets have such files; Pillow reads them) */
        cinfo->err->num_warnings++;
        return;
    default:
        (*cinfo->err->error_exit)(cinfo);
    }
}

/* ----------------------------------------------------------- decoder state -- */

enum { FAIL_NONE = 0, FAIL_JPEG, FAIL_UNSUPPORTED, FAIL_ARGUMENT };

typedef struct {
    struct jpeg_decompress_struct cinfo;
    error_mgr err;
    int created; /* jpeg_create_decompress was called: destroy it */
    int failure; /* FAIL_* */
    char message[JMSG_LENGTH_MAX + 64];
} decoder;

static void decoder_init(decoder *d) {
    memset(&d->cinfo, 0, sizeof(d->cinfo));
    d->cinfo.err = jpeg_std_error(&d->err.pub);
    d->err.pub.error_exit = on_error_exit;
    d->err.pub.emit_message = on_emit_message;
    d->err.message[0] = '\0';
    d->created = 0;
    d->failure = FAIL_NONE;
    d->message[0] = '\0';
}

static void decoder_free(decoder *d) {
    if (d->created) {
        jpeg_destroy_decompress(&d->cinfo); /* also aborts a running decode */
        d->created = 0;
    }
}

/* Called right after setjmp returned nonzero. */
static int decoder_jpeg_failed(decoder *d) {
    d->failure = FAIL_JPEG;
    snprintf(d->message, sizeof(d->message), "%s", d->err.message);
    return 0;
}

static const char *colorspace_name(J_COLOR_SPACE cs) {
    switch (cs) {
    case JCS_GRAYSCALE:
        return "gray";
    case JCS_YCbCr:
    case JCS_RGB:
        return "ycc";
    case JCS_CMYK:
        return "cmyk";
    case JCS_YCCK:
        return "ycck";
    default:
        return "unknown";
    }
}

/* Creates the decompressor over the memory buffer and reads the header. */
static void open_stream(decoder *d, const unsigned char *data, size_t size, int save_app1) {
    d->created = 1; /* destroy is safe on a zeroed struct whose create failed */
    jpeg_create_decompress(&d->cinfo);
    jpeg_mem_src(&d->cinfo, data, (unsigned long)size);
    if (save_app1)
        jpeg_save_markers(&d->cinfo, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(&d->cinfo, TRUE);
}

/* --------------------------------------------------------- EXIF orientation -- */

static unsigned read16(const unsigned char *p, int little) {
    return little ? (unsigned)p[0] | ((unsigned)p[1] << 8) : ((unsigned)p[0] << 8) | (unsigned)p[1];
}

static unsigned long read32(const unsigned char *p, int little) {
    return little ? (unsigned long)p[0] | ((unsigned long)p[1] << 8) | ((unsigned long)p[2] << 16) |
                        ((unsigned long)p[3] << 24)
                  : ((unsigned long)p[0] << 24) | ((unsigned long)p[1] << 16) |
                        ((unsigned long)p[2] << 8) | (unsigned long)p[3];
}

/* Orientation (tag 0x0112) from IFD0 of an APP1 "Exif\0\0" payload:
 * 1..8, or 0 when this is not an Exif segment or it is malformed. */
static int exif_orientation(const unsigned char *p, size_t len) {
    static const unsigned char exif_id[6] = {'E', 'x', 'i', 'f', 0, 0};
    size_t ifd, count, i;
    int little;
    if (len < sizeof(exif_id) + 8 || memcmp(p, exif_id, sizeof(exif_id)) != 0)
        return 0;
    p += sizeof(exif_id); /* TIFF header: byte order, 42, offset of IFD0 */
    len -= sizeof(exif_id);
    if (p[0] == 'I' && p[1] == 'I')
        little = 1;
    else if (p[0] == 'M' && p[1] == 'M')
        little = 0;
    else
        return 0;
    if (read16(p + 2, little) != 42)
        return 0;
    ifd = read32(p + 4, little);
    if (ifd < 8 || ifd > len - 2)
        return 0;
    count = read16(p + ifd, little);
    for (i = 0; i < count; i++) {
        size_t entry = ifd + 2 + 12 * i;
        unsigned type;
        unsigned long value;
        if (entry + 12 > len)
            return 0;
        if (read16(p + entry, little) != 0x0112)
            continue;
        type = read16(p + entry + 2, little);
        if (read32(p + entry + 4, little) != 1)
            return 0;
        if (type == 3) /* SHORT: left-justified in the 4-byte value field */
            value = read16(p + entry + 8, little);
        else if (type == 4) /* LONG: not per spec, but unambiguous */
            value = read32(p + entry + 8, little);
        else
            return 0;
        return value >= 1 && value <= 8 ? (int)value : 0;
    }
    return 0;
}

/* ------------------------------------------------------------------ header -- */

typedef struct {
    long height, width;
    int components, orientation;
    const char *colorspace;
} header_info;

static int run_header(decoder *d, const unsigned char *data, size_t size, header_info *out) {
    jpeg_saved_marker_ptr m;
    if (setjmp(d->err.jump))
        return decoder_jpeg_failed(d);
    open_stream(d, data, size, 1);
    out->height = (long)d->cinfo.image_height;
    out->width = (long)d->cinfo.image_width;
    out->components = d->cinfo.num_components;
    out->colorspace = colorspace_name(d->cinfo.jpeg_color_space);
    out->orientation = 1;
    for (m = d->cinfo.marker_list; m != NULL; m = m->next) {
        if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 && memcmp(m->data, "Exif\0\0", 6) == 0) {
            int o = exif_orientation(m->data, m->data_length);
            out->orientation = o ? o : 1; /* the first Exif segment decides */
            break;
        }
    }
    return 1;
}

/* ------------------------------------------------------------------ decode -- */

typedef struct {
    Py_ssize_t top, left, height, width; /* requested, output coordinates */
    int scale, fast;
    /* results */
    JDIMENSION y0, x0, h, w;
} window;

#if JPEG_LIB_VERSION >= 70
#define MIN_H_SCALED_SIZE(c) ((c)->min_DCT_h_scaled_size)
#define COMP_H_SCALED_SIZE(p) ((p)->DCT_h_scaled_size)
#else
#define MIN_H_SCALED_SIZE(c) ((c)->min_DCT_scaled_size)
#define COMP_H_SCALED_SIZE(p) ((p)->DCT_scaled_size)
#endif

/* After jpeg_calc_output_dimensions: does some component get *interpolated*
 * horizontally?  Then the crop's outermost output columns are interpolated
 * against a replicated edge sample instead of their real neighbour, so they
 * differ from a full decode.  libjpeg-turbo interpolates (h2v1 / h2v2 fancy
 * upsampling) only with do_fancy_upsampling and an IDCT larger than 1x1
 * (jdsample.c); where it scales a chroma IDCT up to cover the subsampling
 * (e.g. 4:2:0 at 1/2 and 1/4) nothing is upsampled at all. */
static int interpolates_columns(const struct jpeg_decompress_struct *c) {
    int ci;
    if (!c->do_fancy_upsampling || MIN_H_SCALED_SIZE(c) <= 1)
        return 0;
    for (ci = 0; ci < c->num_components; ci++) {
        const jpeg_component_info *p = &c->comp_info[ci];
        if (p->h_samp_factor * COMP_H_SCALED_SIZE(p) < c->max_h_samp_factor * MIN_H_SCALED_SIZE(c))
            return 1;
    }
    return 0;
}

/* Header, parameters, window checks, start, column crop, row skip. */
static int run_setup(decoder *d, const unsigned char *data, size_t size, window *win) {
    struct jpeg_decompress_struct *c = &d->cinfo;
    Py_ssize_t H, W, h, w, first, end;
    JDIMENSION x0, cw;
    if (setjmp(d->err.jump))
        return decoder_jpeg_failed(d);
    open_stream(d, data, size, 0);

    if (c->jpeg_color_space != JCS_GRAYSCALE && c->jpeg_color_space != JCS_YCbCr &&
        c->jpeg_color_space != JCS_RGB) {
        d->failure = FAIL_UNSUPPORTED;
        snprintf(d->message, sizeof(d->message),
                 "JPEG color space %s (%d components) is not supported by datagen_gpu._jpeg",
                 colorspace_name(c->jpeg_color_space), c->num_components);
        return 0;
    }

    c->out_color_space = JCS_RGB; /* gray files come out as RGB too */
    c->scale_num = 1;
    c->scale_denom = (unsigned)win->scale;
    c->dct_method = win->fast ? JDCT_IFAST : JDCT_ISLOW;
    c->do_fancy_upsampling = win->fast ? FALSE : TRUE;
    jpeg_calc_output_dimensions(c);

    H = (Py_ssize_t)c->output_height;
    W = (Py_ssize_t)c->output_width;
    h = win->height == -1 ? H - win->top : win->height;
    w = win->width == -1 ? W - win->left : win->width;
    if (win->top >= H || win->left >= W || h <= 0 || w <= 0) {
        d->failure = FAIL_ARGUMENT;
        snprintf(d->message, sizeof(d->message),
                 "window (top=%zd, left=%zd, height=%zd, width=%zd) is empty or outside the "
                 "%zdx%zd (height x width) image decoded at scale 1/%d",
                 win->top, win->left, win->height, win->width, H, W, win->scale);
        return 0;
    }
    if (h > H - win->top)
        h = H - win->top;
    if (w > W - win->left)
        w = W - win->left;

    /* Columns to decode: the window, plus one column on each side that is not
     * the image edge when the chroma is interpolated, so that the columns
     * whose interpolation sees the crop edge lie outside the window and every
     * pixel of the window equals the full decode's. */
    first = win->left;
    end = win->left + w;
    if (interpolates_columns(c)) {
        if (first > 0)
            first--;
        if (end < W)
            end++;
    }
    jpeg_start_decompress(c);
    x0 = (JDIMENSION)first;
    cw = (JDIMENSION)(end - first);
    if (cw != c->output_width)
        jpeg_crop_scanline(c, &x0, &cw); /* x0 moves left to an iMCU boundary */
    if (win->top > 0 && jpeg_skip_scanlines(c, (JDIMENSION)win->top) != (JDIMENSION)win->top) {
        d->failure = FAIL_JPEG;
        snprintf(d->message, sizeof(d->message), "could not skip to row %zd", win->top);
        return 0;
    }
    win->y0 = (JDIMENSION)win->top;
    win->x0 = x0;
    win->h = (JDIMENSION)h;
    win->w = cw;
    return 1;
}

/* Reads win->h rows straight into out (h x w x 3, tightly packed). */
static int read_rows(decoder *d, unsigned char *out, const window *win) {
    enum { MAX_ROWS = 16 };
    struct jpeg_decompress_struct *c = &d->cinfo;
    size_t stride = (size_t)win->w * 3;
    JDIMENSION done = 0;
    while (done < win->h) {
        JSAMPROW rows[MAX_ROWS];
        JDIMENSION n = win->h - done, i, got;
        if (n > MAX_ROWS)
            n = MAX_ROWS;
        for (i = 0; i < n; i++)
            rows[i] = out + (size_t)(done + i) * stride;
        got = jpeg_read_scanlines(c, rows, n);
        if (got == 0) {
            d->failure = FAIL_JPEG;
            snprintf(d->message, sizeof(d->message), "libjpeg returned no rows at row %u",
                     (unsigned)(win->y0 + done));
            return 0;
        }
        done += got;
    }
    return 1;
}

static int run_rows(decoder *d, unsigned char *out, const window *win) {
    if (setjmp(d->err.jump))
        return decoder_jpeg_failed(d);
    return read_rows(d, out, win);
}

/* ------------------------------------------------------------ Python glue -- */

static PyObject *raise_failure(const decoder *d) {
    PyErr_SetString(d->failure == FAIL_UNSUPPORTED ? UnsupportedError : PyExc_ValueError, d->message);
    return NULL;
}

static int get_input(PyObject *obj, Py_buffer *view) {
    if (PyObject_GetBuffer(obj, view, PyBUF_SIMPLE) != 0) {
        if (PyErr_ExceptionMatches(PyExc_TypeError) || PyErr_ExceptionMatches(PyExc_BufferError)) {
            PyErr_Clear();
            PyErr_Format(PyExc_TypeError,
                         "data must be a contiguous bytes-like object (bytes, bytearray, "
                         "memoryview, uint8 numpy array), not %.100s",
                         Py_TYPE(obj)->tp_name);
        }
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(header_doc,
             "header(data) -> (height, width, num_components, colorspace, orientation)\n\n"
             "Reads only the JPEG header of ``data`` (any contiguous bytes-like object).\n"
             "height/width are the full-resolution image size; decoding at 1/scale gives\n"
             "ceil(height / scale) x ceil(width / scale).  colorspace is 'gray', 'ycc'\n"
             "(YCbCr or RGB), 'cmyk', 'ycck' or 'unknown'.  orientation is the EXIF\n"
             "orientation (1..8) from the APP1 Exif segment, 1 when absent or malformed.\n"
             "Raises ValueError when the header cannot be read.");

static PyObject *py_header(PyObject *module, PyObject *arg) {
    Py_buffer view;
    decoder d;
    header_info info;
    int ok;
    (void)module;
    if (get_input(arg, &view) < 0)
        return NULL;
    decoder_init(&d);
    Py_BEGIN_ALLOW_THREADS
    ok = run_header(&d, (const unsigned char *)view.buf, (size_t)view.len, &info);
    decoder_free(&d);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    if (!ok)
        return raise_failure(&d);
    return Py_BuildValue("(llisi)", info.height, info.width, info.components, info.colorspace,
                         info.orientation);
}

PyDoc_STRVAR(
    decode_doc,
    "decode(data, top=0, left=0, height=-1, width=-1, scale=1, fast=False)\n"
    "    -> (buf, y0, x0, h, w)\n\n"
    "Decodes the window [top, top+height) x [left, left+width) of the JPEG in\n"
    "``data``, at 1/scale resolution (scale in 1, 2, 4, 8), to RGB.  The window is\n"
    "in scaled output coordinates (the image is ceil(H/scale) x ceil(W/scale));\n"
    "height/width -1 mean 'to the edge', and a window reaching past the edge is\n"
    "clipped.  ``buf`` is a bytearray of h*w*3 bytes, HWC RGB, holding output rows\n"
    "y0..y0+h-1 and columns x0..x0+w-1: y0 == top and h is the clipped height, but\n"
    "libjpeg decodes whole iMCU columns, so x0 <= left may move left to an iMCU\n"
    "boundary and x0 + w >= left + width.  Gray files decode to RGB.\n"
    "fast=False: accurate integer IDCT and fancy upsampling (libjpeg's and Pillow's\n"
    "defaults); fast=True: fast integer IDCT and plain (replicating) upsampling.\n"
    "Raises UnsupportedError (a ValueError) for CMYK/YCCK files, ValueError for a\n"
    "bad window or a corrupt or truncated stream.  Releases the GIL.");

static PyObject *py_decode(PyObject *module, PyObject *args, PyObject *kwargs) {
    static char *keywords[] = {"data", "top", "left", "height", "width", "scale", "fast", NULL};
    PyObject *data, *buf = NULL;
    Py_buffer view;
    decoder d;
    window win;
    int ok;
    (void)module;
    win.top = 0;
    win.left = 0;
    win.height = -1;
    win.width = -1;
    win.scale = 1;
    win.fast = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|nnnnip:decode", keywords, &data, &win.top,
                                     &win.left, &win.height, &win.width, &win.scale, &win.fast))
        return NULL;
    if (win.scale != 1 && win.scale != 2 && win.scale != 4 && win.scale != 8)
        return PyErr_Format(PyExc_ValueError, "scale must be 1, 2, 4 or 8, got %d", win.scale);
    if (win.top < 0 || win.left < 0)
        return PyErr_Format(PyExc_ValueError, "top and left must be >= 0, got top=%zd, left=%zd",
                            win.top, win.left);
    if (win.height < -1 || win.height == 0 || win.width < -1 || win.width == 0)
        return PyErr_Format(PyExc_ValueError,
                            "height and width must be > 0 or -1 (to the edge), got height=%zd, "
                            "width=%zd",
                            win.height, win.width);
    if (get_input(data, &view) < 0)
        return NULL;

    decoder_init(&d);
    Py_BEGIN_ALLOW_THREADS
    ok = run_setup(&d, (const unsigned char *)view.buf, (size_t)view.len, &win);
    if (!ok)
        decoder_free(&d);
    Py_END_ALLOW_THREADS
    if (!ok) {
        PyBuffer_Release(&view);
        return raise_failure(&d);
    }

    buf = PyByteArray_FromStringAndSize(NULL, (Py_ssize_t)win.h * (Py_ssize_t)win.w * 3);
    if (buf == NULL) {
        Py_BEGIN_ALLOW_THREADS
        decoder_free(&d);
        Py_END_ALLOW_THREADS
        PyBuffer_Release(&view);
        return NULL;
    }

    /* buf is not visible to any other thread until it is returned. */
    Py_BEGIN_ALLOW_THREADS
    ok = run_rows(&d, (unsigned char *)PyByteArray_AS_STRING(buf), &win);
    decoder_free(&d); /* rows below the window are never decoded */
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    if (!ok) {
        Py_DECREF(buf);
        return raise_failure(&d);
    }
    return Py_BuildValue("(Nkkkk)", buf, (unsigned long)win.y0, (unsigned long)win.x0,
                         (unsigned long)win.h, (unsigned long)win.w);
}

static PyMethodDef methods[] = {
    {"header", (PyCFunction)py_header, METH_O, header_doc},
    {"decode", (PyCFunction)(void (*)(void))py_decode, METH_VARARGS | METH_KEYWORDS, decode_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    "datagen_gpu._jpeg",
    "Region-of-interest and DCT-scaled JPEG decoding with libjpeg-turbo.",
    -1,
    methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC PyInit__jpeg(void) {
    PyObject *m = PyModule_Create(&module_def);
    if (m == NULL)
        return NULL;
#ifdef Py_GIL_DISABLED
    PyUnstable_Module_SetGIL(m, Py_MOD_GIL_NOT_USED);
#endif
    UnsupportedError = PyErr_NewExceptionWithDoc(
        "datagen_gpu._jpeg.UnsupportedError",
        "The JPEG is valid but this decoder does not handle it (CMYK / YCCK color); "
        "decode it with Pillow instead.",
        PyExc_ValueError, NULL);
    if (UnsupportedError == NULL || PyModule_AddObject(m, "UnsupportedError", UnsupportedError) < 0) {
        Py_CLEAR(UnsupportedError);
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(UnsupportedError); /* the module owns one reference, the static another */
    return m;
}
