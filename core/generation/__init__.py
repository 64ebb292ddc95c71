"""Making images: requests and limits, the queue, the generation process, samplers, LoRA, PNG info, outputs, the demo model."""
