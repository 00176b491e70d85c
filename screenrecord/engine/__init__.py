"""The comparison engine: frames prepared at half size, scored against a stream's ring by SSIM, exactly.

The score is `pytorch_msssim.ssim(x, y, data_range=255)` of RGB frames at half width and height;
on a CPU it is computed fast without changing a decision. One module per job:

- `ssim`: the score's definition: the Gaussian window, the constants, the SSIM map, and
  `ssim_many` for batches of small images.
- `halfres`: a full-size frame down to half size, bit for bit as PIL's resize, redoing only what
  changed since the previous frame.
- `prepared`: a frame ready for comparison (`Prepared`): half-size planes padded into blocks,
  each block hashed (equal hashes, equal pixels), its thumbnail; made from scratch or from the
  stream's previous or a recalled ring frame; kept compact in a ring (`keep`, `let_go`).
- `coarse`: the coarse pass: thumbnails against a whole ring at once, to pick the ring frames
  worth an exact comparison (`CoarseStack`, one per ring).
- `exact`: the exact score of two prepared frames, only the tiles that differ, stopped as soon
  as it is decided (`Pair`, `ssim`).
- `device`: CPU, CUDA or MPS (`resolve_device`), and the torch scorer; torch is imported only
  when a GPU device is asked for.
- `score`: the `Engine`: prepares frames, decides one against its stream's ring, and owns the
  memory of its rings (their frames' blocks in one tile store).
- `tiles`: that tile store: the distinct blocks of the rings' frames, compressed, shared.
- `change`: what changed against the match, in regions (boxes), and a stream's noise mask
  (what changes at most of its frames: clocks, carets); `Engine.look_closer` keeps a duplicate
  that changed by a line of text.
- `ring`: the bounded most-recently-used ring of a stream's kept frames.
- `compare`: two image files loaded and scored (the `compare` command).
"""

from screenrecord.engine.change import NoiseMask
from screenrecord.engine.coarse import CoarseStack
from screenrecord.engine.compare import compare_files
from screenrecord.engine.exact import ssim
from screenrecord.engine.prepared import Prepared, Previous, prepare
from screenrecord.engine.ring import Ring
from screenrecord.engine.score import Engine
from screenrecord.engine.ssim import ssim_many

__all__ = [
    "CoarseStack",
    "Engine",
    "NoiseMask",
    "Prepared",
    "Previous",
    "Ring",
    "compare_files",
    "prepare",
    "ssim",
    "ssim_many",
]
