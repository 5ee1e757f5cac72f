"""Build datagen_gpu and its CPU extension datagen_gpu._C.

    pip install --no-build-isolation -e .

builds csrc/*.cpp against the torch already installed (no isolated build
environment, which would download torch again).

The optional datagen_gpu._jpeg (csrc/jpeg/jpeg_roi.c: region-of-interest and
DCT-scaled JPEG decoding with libjpeg-turbo) is a plain C extension, built
when libjpeg-turbo's jpeglib.h is found in $DATAGEN_GPU_JPEG_INCLUDE,
/usr/include or /usr/local/include (the linker must find -ljpeg: LIBRARY_PATH
/ LDFLAGS for another prefix), and skipped with DATAGEN_GPU_NO_JPEG=1.
"""
import glob
import os

from setuptools import Extension, find_packages, setup
from torch.utils.cpp_extension import BuildExtension, CppExtension

HERE = os.path.dirname(os.path.abspath(__file__))


def extension():
    sources = sorted(glob.glob(os.path.join("csrc", "*.cpp")))
    # -fno-trapping-math: without it GCC does not if-convert a select whose arm
    # computes, and such loops do not vectorize; the kernels use no FP exceptions.
    cxx = ["-O3", "-fopenmp", "-fno-math-errno", "-fno-trapping-math", "-Wall", "-Wno-unused-function"]
    if os.environ.get("DATAGEN_GPU_NATIVE", "0") == "1":
        cxx.append("-march=native")
    return CppExtension(
        "datagen_gpu._C",
        sources,
        include_dirs=[os.path.join(HERE, "csrc")],
        extra_compile_args={"cxx": cxx},
        extra_link_args=["-fopenmp"],
    )


def jpeg_extension():
    """datagen_gpu._jpeg when libjpeg's header is found, else None."""
    if os.environ.get("DATAGEN_GPU_NO_JPEG", "0") == "1":
        print("datagen_gpu: DATAGEN_GPU_NO_JPEG=1, building without datagen_gpu._jpeg")
        return None
    env_dir = os.environ.get("DATAGEN_GPU_JPEG_INCLUDE", "")
    dirs = (env_dir, "/usr/include", "/usr/local/include")
    found = [d for d in dirs if d and os.path.isfile(os.path.join(d, "jpeglib.h"))]
    if not found:
        print("datagen_gpu: jpeglib.h not found (set DATAGEN_GPU_JPEG_INCLUDE), building without datagen_gpu._jpeg")
        return None
    with open(os.path.join(found[0], "jpeglib.h"), errors="replace") as f:
        if "jpeg_crop_scanline" not in f.read():  # IJG libjpeg has no ROI API
            print(f"datagen_gpu: {found[0]}/jpeglib.h is not libjpeg-turbo >= 1.5, building without datagen_gpu._jpeg")
            return None
    ext = Extension(
        "datagen_gpu._jpeg",
        [os.path.join("csrc", "jpeg", "jpeg_roi.c")],
        include_dirs=[env_dir] if found[0] == env_dir else [],  # the others are searched anyway
        libraries=["jpeg"],
        extra_compile_args=["-O3", "-Wall"],
    )
    ext.plain_c = True  # see BuildExt.build_extension
    return ext


class BuildExt(BuildExtension):
    """torch's BuildExtension for datagen_gpu._C; a plain C build for _jpeg.

    BuildExtension routes every source through its own compile (ninja, with
    -std=c++NN and torch's defines appended), which is wrong for a C file; a
    `plain_c` extension is compiled by setuptools' unpatched compiler with
    only its own flags.
    """

    def build_extension(self, ext):
        if not getattr(ext, "plain_c", False):
            return super().build_extension(ext)
        # BuildExtension.build_extensions appended torch-only -D flags to every
        # extension and patched the compiler instance; undo both for this one.
        ext.extra_compile_args = [
            a for a in ext.extra_compile_args if not a.startswith(("-DTORCH_", "-DPy_LIMITED_API"))
        ]
        own = self.compiler.__dict__
        patched = {name: own.pop(name) for name in ("compile", "_compile") if name in own}
        try:
            return super().build_extension(ext)
        finally:
            self.compiler.__dict__.update(patched)


setup(
    packages=find_packages(include=["datagen_gpu", "datagen_gpu.*"]),
    ext_modules=[e for e in (extension(), jpeg_extension()) if e is not None],
    cmdclass={"build_ext": BuildExt.with_options(use_ninja=True)},
)
