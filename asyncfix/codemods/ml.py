"""ml: loading ML models and running inference on the loop (checklist 1.7A, and inference)."""

from asyncfix.catalog import Category, Doc, Rule, Types

HF_MODEL = "transformers.PreTrainedModel"
TOKENIZER = "transformers.PreTrainedTokenizerBase"
PROCESSOR = "transformers.ProcessorMixin"
CONFIG = "transformers.PretrainedConfig"
HF_PIPELINE = "transformers.Pipeline"
DIFFUSION = "diffusers.DiffusionPipeline"
DIFFUSION_MODEL = "diffusers.ModelMixin"
SENTENCE = "sentence_transformers.SentenceTransformer"
CROSS = "sentence_transformers.CrossEncoder"
SPARSE = "sentence_transformers.SparseEncoder"
ORT = "onnxruntime.InferenceSession"
SPACY = "spacy.language.Language"
WHISPER = "whisper.model.Whisper"
KERAS = "keras.Model"
SCRIPT = "torch.jit.ScriptModule"

# Classes stand for the type of what their `from_pretrained` makes (as annotations do), and the
# rules list `from_pretrained` as a method of that type: `AutoModel.from_pretrained(name)` is found
# as `PreTrainedModel.from_pretrained`. The catalog has no "any class of a module" key (which the
# fast path's triggers would need too), so a class not listed here is not flagged.
_HF_MODELS = (
    "AutoModel", "AutoModelForCausalLM", "AutoModelForSeq2SeqLM", "AutoModelForMaskedLM",
    "AutoModelForSequenceClassification", "AutoModelForTokenClassification",
    "AutoModelForQuestionAnswering", "AutoModelForMultipleChoice", "AutoModelForPreTraining",
    "AutoModelForNextSentencePrediction", "AutoModelForTextEncoding",
    "AutoModelForTableQuestionAnswering", "AutoModelForImageClassification",
    "AutoModelForObjectDetection", "AutoModelForZeroShotObjectDetection",
    "AutoModelForSemanticSegmentation", "AutoModelForImageSegmentation",
    "AutoModelForUniversalSegmentation", "AutoModelForDepthEstimation", "AutoModelForMaskGeneration",
    "AutoModelForVision2Seq", "AutoModelForImageTextToText", "AutoModelForVisualQuestionAnswering",
    "AutoModelForDocumentQuestionAnswering", "AutoModelForZeroShotImageClassification",
    "AutoModelForVideoClassification", "AutoModelForSpeechSeq2Seq", "AutoModelForCTC",
    "AutoModelForAudioClassification", "AutoModelForTextToWaveform", "AutoModelForTextToSpectrogram",
    "PreTrainedModel", "BertModel", "BertForSequenceClassification", "BertForTokenClassification",
    "BertForMaskedLM", "BertForQuestionAnswering", "DistilBertModel",
    "DistilBertForSequenceClassification", "RobertaModel", "RobertaForSequenceClassification",
    "XLMRobertaModel", "XLMRobertaForSequenceClassification", "DebertaV2ForSequenceClassification",
    "GPT2Model", "GPT2LMHeadModel", "T5Model", "T5EncoderModel", "T5ForConditionalGeneration",
    "MT5ForConditionalGeneration", "BartModel", "BartForConditionalGeneration", "MarianMTModel",
    "PegasusForConditionalGeneration", "LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM",
    "GemmaForCausalLM", "WhisperForConditionalGeneration", "Wav2Vec2ForCTC", "CLIPModel",
    "CLIPTextModel", "CLIPVisionModel", "BlipForConditionalGeneration", "Blip2ForConditionalGeneration",
    "VisionEncoderDecoderModel", "ViTModel", "ViTForImageClassification", "DetrForObjectDetection",
    "LayoutLMv3ForTokenClassification",
)
# ...and those whose `from_pretrained` reads tokenizer, processor or config files (calling a
# tokenizer or processor is fast and stays quiet).
_HF_FILES = {
    **dict.fromkeys((
        "AutoTokenizer", "PreTrainedTokenizer", "PreTrainedTokenizerFast", "BertTokenizer",
        "BertTokenizerFast", "DistilBertTokenizer", "DistilBertTokenizerFast", "RobertaTokenizer",
        "RobertaTokenizerFast", "XLMRobertaTokenizer", "XLMRobertaTokenizerFast", "GPT2Tokenizer",
        "GPT2TokenizerFast", "T5Tokenizer", "T5TokenizerFast", "LlamaTokenizer", "LlamaTokenizerFast",
        "MarianTokenizer", "WhisperTokenizer", "CLIPTokenizer"), TOKENIZER),
    **dict.fromkeys((
        "AutoProcessor", "AutoImageProcessor", "AutoFeatureExtractor", "WhisperProcessor",
        "WhisperFeatureExtractor", "Wav2Vec2Processor", "CLIPProcessor", "BlipProcessor",
        "Blip2Processor", "ViTImageProcessor", "LayoutLMv3Processor"), PROCESSOR),
    **dict.fromkeys(("AutoConfig", "PretrainedConfig", "GenerationConfig"), CONFIG),
}
_DIFFUSION_PIPELINES = (
    "DiffusionPipeline", "StableDiffusionPipeline", "StableDiffusionImg2ImgPipeline",
    "StableDiffusionInpaintPipeline", "StableDiffusionXLPipeline", "StableDiffusionXLImg2ImgPipeline",
    "StableDiffusion3Pipeline", "FluxPipeline", "AutoPipelineForText2Image",
    "AutoPipelineForImage2Image", "AutoPipelineForInpainting",
)
_DIFFUSION_MODELS = ("ModelMixin", "UNet2DConditionModel", "AutoencoderKL", "ControlNetModel")
_PEFT_MODELS = ("PeftModel", "PeftModelForCausalLM", "AutoPeftModel", "AutoPeftModelForCausalLM")
_CLASSES = {
    **{f"transformers.{c}": HF_MODEL for c in _HF_MODELS},
    **{f"transformers.{c}": typ for c, typ in _HF_FILES.items()},
    **{f"diffusers.{c}": DIFFUSION for c in _DIFFUSION_PIPELINES},
    **{f"diffusers.{c}": DIFFUSION_MODEL for c in _DIFFUSION_MODELS},
    **{f"peft.{c}": HF_MODEL for c in _PEFT_MODELS},
}

_PIPELINES = (
    "DiffusionPipeline", "StableDiffusionPipeline", "StableDiffusionImg2ImgPipeline",
    "StableDiffusionInpaintPipeline", "StableDiffusionXLPipeline", "StableDiffusionXLImg2ImgPipeline",
    "StableDiffusion3Pipeline", "FluxPipeline", "AutoPipelineForText2Image",
    "AutoPipelineForImage2Image", "AutoPipelineForInpainting",
)
_DIFFUSION_MODELS = ("UNet2DConditionModel", "AutoencoderKL", "ControlNetModel")
_PEFT_MODELS = ("PeftModel", "PeftModelForCausalLM", "AutoPeftModel", "AutoPeftModelForCausalLM")

_PIPELINES = ("transformers.pipeline", "transformers.pipelines.pipeline")
_SENTENCE_CLASSES = {
    "sentence_transformers.SentenceTransformer": SENTENCE,
    "sentence_transformers.CrossEncoder": CROSS,
    "sentence_transformers.cross_encoder.CrossEncoder": CROSS,
    "sentence_transformers.SparseEncoder": SPARSE,
}
_LOADERS = {  # library loaders: what they return (None: an object of no tracked type)
    "onnxruntime.InferenceSession": ORT,
    "spacy.load": SPACY,
    "whisper.load_model": WHISPER,
    "tensorflow.keras.models.load_model": KERAS,
    "keras.models.load_model": KERAS,
    "keras.saving.load_model": KERAS,
    "tensorflow.saved_model.load": None,
    "torch.jit.load": SCRIPT,
    "torch.load": None,
    "joblib.load": None,
}
# Methods that hand back the same model (`AutoModel.from_pretrained(n).to("cuda").eval()`).
_SAME_MODEL = ("to", "eval", "cuda", "cpu", "half", "float", "bfloat16", "train", "requires_grad_")

CATEGORY = Category(
    name="ml",
    section="1.7A",
    title="ML model loading and inference",
    doc=Doc(
        what="Flags loading ML models and running them inside `async def`. Loading (AF151): "
        "transformers `from_pretrained` (`AutoModel...`, `AutoTokenizer`, `AutoProcessor`, "
        "`AutoConfig` and common model and tokenizer classes), `transformers.pipeline(...)`, "
        "diffusers pipelines' and peft models' `from_pretrained`, `SentenceTransformer(...)`, "
        "`CrossEncoder(...)`, `onnxruntime.InferenceSession(...)`, `spacy.load`, "
        "`whisper.load_model`, keras `load_model`, `torch.load`, `torch.jit.load`, `joblib.load`, "
        "`pickle.load`. Inference (AF152) on objects made by those: a SentenceTransformer's "
        "`encode`, a CrossEncoder's `predict`/`rank`, a model's `generate` and the model, "
        "pipeline or spaCy `nlp` called itself (`model(**inputs)`, `classifier(text)`, "
        "`nlp(text)`), an ONNX session's `run`, a whisper model's `transcribe`, a keras model's "
        "`predict`. Tokenizer calls, `model.to(device)`, `model.eval()`, `torch.no_grad()` and "
        "tensor operations are not flagged, nor anything on an object of unknown type.",
        why="Loading reads hundreds of megabytes to gigabytes of weights from disk (or downloads "
        "them) and builds the network: 1 to 60 s. A forward pass takes 10 ms to seconds on CPU, "
        "generation seconds to minutes. On the loop every other request, WebSocket heartbeat and "
        "health check waits that long; in a startup hook the server is not ready and the "
        "orchestrator's health checks time out.",
        example="@app.post('/process')\n"
        "async def embed(texts: list[str]):\n"
        "    model = SentenceTransformer('all-MiniLM-L6-v2')\n"
        "    return model.encode(texts).tolist()",
        instead="Load each model once, at startup, in a lifespan handler, in a thread, and store it "
        "on `app.state`: `app.state.embedder = await asyncio.to_thread(SentenceTransformer, name)` "
        "(or load it lazily through an `lru_cache`d sync getter called with "
        "`await asyncio.to_thread(get_model)`). Run inference in a thread "
        "(`await asyncio.to_thread(app.state.embedder.encode, texts)`) or, for CPU-bound models "
        "that hold the GIL, a `ProcessPoolExecutor`. A GPU model goes in a thread pool of one "
        "worker (`ThreadPoolExecutor(max_workers=1)` and `loop.run_in_executor`), so requests "
        "queue for the device instead of contending for its memory.",
        fix_safety="Safe: the same calls run in a worker thread with the same arguments; results "
        "and exceptions propagate through the await unchanged. PyTorch, transformers, "
        "sentence-transformers, ONNX Runtime and spaCy models can be called from a worker thread, "
        "and torch releases the GIL in its kernels, so calls on a model shared by requests (a "
        "module global, `app.state`) move one by one. Concurrent calls then run at once: on a GPU "
        "that may need a one-worker executor (above), which `apply` does not set up. A torch "
        "forward pass (`model(**inputs)`, a TorchScript module called) stays: PyTorch's grad mode "
        "is thread-local, so in a worker it would run without the caller's `torch.no_grad()`; "
        "`generate`, `encode`, `predict` and pipelines set it themselves.",
        imports="from sentence_transformers import SentenceTransformer",
    ),
    rules=(
        Rule(
            code="AF151",
            message="`{name}` loads a model on the event loop",
            functions=_PIPELINES + tuple(_SENTENCE_CLASSES) + tuple(_LOADERS),
            methods={HF_MODEL: ("from_pretrained",), DIFFUSION: ("from_pretrained",),
                     DIFFUSION_MODEL: ("from_pretrained",)},
        ),
        Rule(
            code="AF151",
            message="`{name}` reads a tokenizer, processor or config from disk or the Hub on the event loop",
            methods={TOKENIZER: ("from_pretrained",), PROCESSOR: ("from_pretrained",),
                     CONFIG: ("from_pretrained",)},
        ),
        Rule(
            code="AF151",
            message="`{name}` unpickles a saved model (or any pickled object) on the event loop",
            functions=("pickle.load",),
        ),
        Rule(
            code="AF152",
            message="`{name}` runs model inference on the event loop",
            methods={
                HF_MODEL: ("generate",),  # decorated with `torch.no_grad()`: same in any thread
                HF_PIPELINE: ("__call__",),
                DIFFUSION: ("__call__",),
                SENTENCE: ("encode", "encode_query", "encode_document", "encode_multi_process"),
                SPARSE: ("encode", "encode_query", "encode_document"),
                CROSS: ("predict", "rank"),
                ORT: ("run", "run_with_ort_values", "run_with_iobinding"),
                SPACY: ("__call__",),
                WHISPER: ("transcribe", "decode", "detect_language"),
                KERAS: ("predict", "predict_on_batch", "__call__"),
            },
        ),
        Rule(
            # the forward pass itself: it runs with the calling thread's grad mode
            code="AF152",
            message="`{name}` runs model inference on the event loop",
            methods={HF_MODEL: ("__call__", "forward"), DIFFUSION_MODEL: ("__call__", "forward"),
                     SCRIPT: ("__call__", "forward")},
            unfixable="PyTorch's grad mode is thread-local: in a worker thread the forward pass would "
            "not see the caller's `torch.no_grad()`/`torch.inference_mode()` (it would record the "
            "autograd graph, and `.numpy()` on its output fails). Move it into a sync helper together "
            "with the `with torch.no_grad():` around it, and `await asyncio.to_thread(helper, ...)`",
        ),
    ),
    types=Types(
        returns={
            **{f"{cls}.from_pretrained": typ for cls, typ in _CLASSES.items()},
            **{fn: HF_PIPELINE for fn in _PIPELINES},
            **_SENTENCE_CLASSES,
            **{fn: typ for fn, typ in _LOADERS.items() if typ},
            **{f"{typ}.{m}": typ for typ in (HF_MODEL, DIFFUSION, DIFFUSION_MODEL, SENTENCE, CROSS,
                                             SPARSE, SCRIPT) for m in _SAME_MODEL},
        },
        annotations={
            **_CLASSES,
            "transformers.modeling_utils.PreTrainedModel": HF_MODEL,
            "transformers.PreTrainedTokenizerBase": TOKENIZER,
            "transformers.pipelines.Pipeline": HF_PIPELINE,
            "transformers.pipelines.base.Pipeline": HF_PIPELINE,
            "sentence_transformers.cross_encoder.CrossEncoder": CROSS,
            "spacy.Language": SPACY,
            "whisper.Whisper": WHISPER,
            "tensorflow.keras.Model": KERAS,
            "keras.models.Model": KERAS,
        },
    ),
)
