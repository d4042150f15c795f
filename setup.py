"""Build of the compiled parts; everything else is declared in pyproject.toml."""

from Cython.Build import cythonize
from setuptools import Extension, setup

setup(
    ext_modules=cythonize(
        [
            Extension("telsec._keyed", ["src/telsec/_keyed.pyx"]),
            Extension("telsec.signalling._fastpath", ["src/telsec/signalling/_fastpath.pyx"]),
            Extension("telsec.signalling._tracker", ["src/telsec/signalling/_tracker.pyx"]),
        ],
        compiler_directives={"language_level": "3"},
    )
)
