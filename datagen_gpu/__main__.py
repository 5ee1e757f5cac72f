"""``python -m datagen_gpu demo|bench ...``: see datagen_gpu.cli."""
import sys

from .cli import main

sys.exit(main())
