"""The tree's tensor list is in depth-first pre-order: the summary takes the tensors below
a node as one slice of it (summary.tensor_nodes_below), so the order is asserted here
against a plain walk of the tree, on files whose containers interleave tensors and
sub-containers, share tensors and nest modules."""

from __future__ import annotations

import torch
from helpers import make_mlp, tutorial_checkpoint

from inspector.analysis.layouts import recognise
from inspector.analysis.summary import model_size, summarize, tensor_nodes_below
from inspector.formats import open_checkpoint


def _interleaved():
    shared = torch.arange(6.0)
    return {
        "a": torch.zeros(2),
        "inner": {"b": torch.ones(3), "deeper": [torch.zeros(1), {"c": torch.ones(1)}], "d": shared},
        "e": torch.ones(4),
        "again": shared,  # the same tensor twice: two tensor rows
        "list": [1, torch.zeros(5), "x", (torch.ones(2), {"f": torch.zeros(2)}), torch.ones(7)],
        "g": torch.zeros(8),
        "model": make_mlp(),  # a whole module: parameters below module stubs
    }


def test_tensor_list_is_preorder_and_slices_match_walks(tmp_path):
    for i, obj in enumerate((_interleaved(), tutorial_checkpoint(), make_mlp().state_dict())):
        path = tmp_path / f"f{i}.pt"
        torch.save(obj, path)
        with open_checkpoint(path) as ck:
            walked = [n for n in ck.root.walk() if n.kind == "tensor"]
            assert ck.tensors == walked
            for node in ck.root.walk():
                if node.children:
                    below = [n for n in node.walk() if n.kind == "tensor"]
                    assert tensor_nodes_below(ck, node) == below, node.path


def test_model_size_counts_what_a_walk_counts(tmp_path):
    path = tmp_path / "t.pt"
    torch.save(tutorial_checkpoint(), path)
    with open_checkpoint(path) as ck:
        lay = recognise(ck)
        size = model_size(ck, lay)
        model = make_mlp()
        assert size["parameters"] == sum(p.numel() for p in model.parameters())
        opt = ck.find(lay.optimizers[0])
        opt_elems = sum(n.value.numel for n in opt.walk() if n.kind == "tensor")
        assert size["optimizer"] == opt_elems
        s = summarize(ck)
        assert s["numel_total"] == sum(n.value.numel for n in ck.tensors)
