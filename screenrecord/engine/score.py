"""The Engine: a prepared frame scored against its stream's ring, and the decision it makes.

The first ring frame over the duplicate threshold wins, else the best score decides near or new.
On the CPU the front frame is compared first, then the coarse pass (`coarse`) picks the few ring
frames worth an exact comparison (`exact`); on a torch device (`device`) the whole ring is scored.
The engine keeps its rings' frames compact, their blocks in one `tiles.TileStore`.
`Engine.look_closer` then tells what changed against the match (`change`), and keeps a duplicate
that changed by a line of text.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import cv2
import numpy as np
from PIL import Image

from screenrecord.engine import change, tiles
from screenrecord.engine.coarse import DUP_MARGIN, NEAR_MARGIN, CoarseStack
from screenrecord.engine.device import TorchScorer, resolve_device
from screenrecord.engine.exact import Pair
from screenrecord.engine.prepared import Prepared, Previous, keep, let_go, prepare_next
from screenrecord.engine.ring import Ring
from screenrecord.errors import UsageError
from screenrecord.models import Box, Decision, DedupSettings, Kind

log = logging.getLogger(__name__)


class Engine:
    """Prepares frames, decides them against a ring, on the CPU or on a torch device, and holds
    the memory of the rings it fills (`push`)."""

    def __init__(
        self,
        settings: DedupSettings | None = None,
        scorer: TorchScorer | None = None,
        compact: bool = True,
    ) -> None:
        """`scorer` scores exactly on a torch device; by default one is made for a cuda or mps
        `device`, and the CPU engine decides without torch. `compact=False` keeps ring frames
        whole, as before the tile store: the same decisions and scores at ~10x the memory (the
        baseline of tests and bench/)."""
        self.settings = settings or DedupSettings()
        if self.settings.scale != 2:
            raise UsageError(
                f"scale {self.settings.scale} is not supported; frames are compared at half size (scale = 2)"
            )
        self.device = resolve_device(self.settings.device)
        cv2.setNumThreads(1)  # frames are small work items; the other core decodes or captures
        if scorer is None and self.device != "cpu":
            scorer = TorchScorer(self.device)
        self.scorer = scorer
        self.tiles = tiles.TileStore() if compact else None
        """The blocks of every ring's frames, each distinct one once (screens repeat themselves,
        across monitors too); None where ring frames are kept whole."""

    def prepare(
        self,
        image: Image.Image | np.ndarray,
        prev: Previous | None = None,
        known: Sequence[Prepared] = (),
    ) -> tuple[Prepared, Previous]:
        """Prepare a full-size frame, reusing the stream's previous frame or a `known` ring frame
        it mostly repeats (`prepared.prepare_next`); returns it and what the stream keeps for its
        next frame."""
        return prepare_next(image, prev, known)

    def push(self, ring: Ring[Prepared], name: str, p: Prepared) -> None:
        """Put a frame at the front of a ring, compact if the engine keeps a tile store; the
        frame that falls out lets go of its tiles."""
        if self.tiles is None:
            ring.push(name, p)
            return
        out = ring.push(name, keep(p, self.tiles))
        if out is not None:
            let_go(out.frame, self.tiles)

    def decide(
        self, p: Prepared, ring: Ring[Prepared], coarse: CoarseStack
    ) -> tuple[Decision, int | None]:
        """Decision for p against the ring (most recent first), and the index of the ring frame it
        matched (duplicate) or scored best against (near, new). `coarse` is the coarse pass's
        stack kept for this ring (its owner, the stream, keeps both)."""
        if len(ring) == 0:
            return Decision(Kind.NEW, None, None, 0), None
        if self.scorer is not None:
            decision, index = self._decide_scores(self.scorer.scores(p, ring), ring)
        else:
            decision, index = self._decide_cpu(p, ring, coarse)
        if decision.score is not None and not math.isfinite(decision.score):
            # never a verdict from a broken number: the frame is kept, as one nothing matched
            log.warning(
                "score %s against %s: not a number; kept as new", decision.score, decision.match
            )
            return Decision(Kind.NEW, None, None, decision.compared), None
        return decision, index

    def _coarse_scores(
        self, stack: CoarseStack, p: Prepared, frames: list[Prepared], same: list[bool]
    ) -> np.ndarray:
        """Coarse score of p against every ring frame (+inf where there is no thumbnail)."""
        out = np.full(len(frames), -np.inf)
        idx = [i for i, f in enumerate(frames) if same[i]]
        if not idx:
            return out
        if p.coarse is None:
            out[idx] = np.inf
            return out
        out[idx] = stack.scores(p.coarse, [c for i in idx if (c := frames[i].coarse) is not None])
        return out

    def _kind(self, score: float) -> Kind:
        s = self.settings
        if score > s.duplicate_threshold:
            return Kind.DUPLICATE
        return Kind.NEAR if score >= s.near_threshold else Kind.NEW

    def _decide_scores(
        self, scores: np.ndarray, ring: Ring[Prepared]
    ) -> tuple[Decision, int | None]:
        """Reference semantics from exact scores: the first ring frame over the duplicate
        threshold wins, else the best one decides (a NaN never does)."""
        scores = np.where(np.isnan(scores), -np.inf, scores)
        over = np.flatnonzero(scores > self.settings.duplicate_threshold)
        i = int(over[0]) if len(over) else int(np.argmax(scores))
        s = float(scores[i])
        return Decision(self._kind(s), s, ring[i].name, len(scores)), i

    def _decide_cpu(
        self, p: Prepared, ring: Ring[Prepared], stack: CoarseStack
    ) -> tuple[Decision, int | None]:
        s = self.settings
        dup, near = s.duplicate_threshold, s.near_threshold
        frames = [e.frame for e in ring]
        same = [f.shape == p.shape for f in frames]
        pairs: dict[int, Pair] = {}

        def pair(i: int) -> Pair:
            if i not in pairs:
                pairs[i] = Pair(p, frames[i])
            return pairs[i]

        def duplicate(i: int, score: float) -> tuple[Decision, int]:
            return Decision(Kind.DUPLICATE, score, ring[i].name, len(pairs)), i

        # 1. the first ring frame, most recent first, over the duplicate threshold. The front
        # frame is tried before any coarse pass: an unchanged screen usually matches it.
        if same[0] and (frames[0].digest == p.digest or pair(0).run(dup) > dup):
            return duplicate(0, 1.0 if frames[0].digest == p.digest else pair(0).bound)
        coarse = self._coarse_scores(stack, p, frames, same)
        for i in range(1, len(frames)):
            if not same[i] or coarse[i] < dup - DUP_MARGIN:
                continue
            if frames[i].digest == p.digest:  # same pixels: SSIM is exactly 1
                return duplicate(i, 1.0)
            if pair(i).run(dup) > dup:
                return duplicate(i, pair(i).bound)
        # 2. otherwise the best score among the frames worth comparing decides near / new; the
        # closest one by the coarse pass is scored exactly, the others only as far as they could
        # beat it. A new frame's record keeps its best score and match too (`why` tells how far
        # it was from the near threshold): a changed screen costs one exact comparison more.
        cands = [i for i in range(len(frames)) if same[i] and coarse[i] >= near - NEAR_MARGIN]
        if not cands and any(same):  # nothing close: score the nearest, for the record
            cands = [int(np.argmax(np.where(same, coarse, -np.inf)))]
        best, best_i = -math.inf, None
        for i in sorted(cands, key=lambda i: -coarse[i]):
            bound = pair(i).run(best)
            if pair(i).exact and bound > best:
                best, best_i = bound, i
        if best_i is None:
            return Decision(Kind.NEW, None, None, len(pairs)), None
        return Decision(self._kind(best), best, ring[best_i].name, len(pairs)), best_i

    def look_closer(
        self,
        p: Prepared,
        ring: Ring[Prepared],
        decision: Decision,
        index: int | None,
        noise: np.ndarray | None,
    ) -> tuple[Decision, int | None, tuple[Box, ...], str | None]:
        """The decision by score, looked at where the frame changed against its match, outside
        the stream's `noise` cells (`change`): a duplicate that changed by at least a line of text
        is near, unless another ring frame differs from it only by noise or less than a line (a
        screen that comes back: it is a duplicate of that one). Returns the decision, the ring
        index it refers to, the changed regions (duplicate and near frames) and, for a frame
        kept so, why."""
        if index is None or decision.kind is Kind.NEW:
            return decision, index, (), None
        match = ring[index].frame
        if match.digest == p.digest or match.shape != p.shape:
            return decision, index, (), None
        found, width = change.regions(p, match, noise)
        if decision.kind is not Kind.DUPLICATE or not change.wide(width):
            return decision, index, tuple(found), None
        others = [(i, e.frame) for i, e in enumerate(ring) if i != index]
        noisy = change.block_mask(noise, p.blocks.shape)
        within = int(((match.blocks != p.blocks) & ~noisy).sum())
        j = change.same_but_noise(p, others, noise, within)
        if j is None:
            near = Decision(Kind.NEAR, decision.score, decision.match, decision.compared)
            return near, index, tuple(found), change.reason(decision.score, found)
        dup = self.settings.duplicate_threshold
        other = ring[j].frame
        score = 1.0 if other.digest == p.digest else Pair(p, other).run(dup)
        if score <= dup:  # it repeats that frame but scores lower: the first match stands
            return decision, index, tuple(found), None
        again = Decision(Kind.DUPLICATE, score, ring[j].name, decision.compared + 1)
        return again, j, tuple(change.regions(p, other, noise)[0]), None
