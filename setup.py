"""Build datagen_gpu and its CPU extension datagen_gpu._C.

    pip install --no-build-isolation -e .

builds csrc/*.cpp against the torch already installed (no isolated build
environment, which would download torch again).
"""
import glob
import os

from setuptools import find_packages, setup
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


setup(
    packages=find_packages(include=["datagen_gpu", "datagen_gpu.*"]),
    ext_modules=[extension()],
    cmdclass={"build_ext": BuildExtension.with_options(use_ninja=True)},
)
