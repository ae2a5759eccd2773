"""Checkpoints the daily-use window tests open (written with torch on the spot)."""

from __future__ import annotations

import torch
from torch import nn


def bert_like_state_dict(layers: int = 2, hidden: int = 32, vocab: int = 100) -> dict:
    """The key names of a Hugging Face BertForSequenceClassification, at a small size."""
    torch.manual_seed(0)
    sd = {}

    def lin(name, n_in, n_out):
        layer = nn.Linear(n_in, n_out)
        sd[f"{name}.weight"], sd[f"{name}.bias"] = layer.weight.detach(), layer.bias.detach()

    def norm(name, n):
        sd[f"{name}.weight"], sd[f"{name}.bias"] = torch.ones(n), torch.zeros(n)

    sd["bert.embeddings.word_embeddings.weight"] = torch.randn(vocab, hidden) * 0.02
    sd["bert.embeddings.position_embeddings.weight"] = torch.randn(64, hidden) * 0.02
    sd["bert.embeddings.token_type_embeddings.weight"] = torch.randn(2, hidden) * 0.02
    norm("bert.embeddings.LayerNorm", hidden)
    sd["bert.embeddings.position_ids"] = torch.arange(64).unsqueeze(0)
    for i in range(layers):
        p = f"bert.encoder.layer.{i}"
        for part in ("query", "key", "value"):
            lin(f"{p}.attention.self.{part}", hidden, hidden)
        lin(f"{p}.attention.output.dense", hidden, hidden)
        norm(f"{p}.attention.output.LayerNorm", hidden)
        lin(f"{p}.intermediate.dense", hidden, 4 * hidden)
        lin(f"{p}.output.dense", 4 * hidden, hidden)
        norm(f"{p}.output.LayerNorm", hidden)
    lin("bert.pooler.dense", hidden, hidden)
    lin("classifier", hidden, 2)
    return sd


def bert_parameter_count(sd: dict) -> int:
    return sum(v.numel() for k, v in sd.items() if not k.endswith("position_ids"))
