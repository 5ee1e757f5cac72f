"""``python -m datagen_gpu demo ...``: see datagen_gpu.cli."""
import sys

from .cli import main

sys.exit(main())
