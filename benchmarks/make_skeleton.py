"""Write a checkpoint with the shapes of Llama-2-70B without the memory or the disk.

Tensors are built under FakeTensorMode and saved inside
`torch.serialization.skip_data(materialize_fake_tensors=True)`, which writes every record
at its real size as a sparse region: ~138 GB apparent, a few MB on disk, 723 bf16
tensors, ~69 billion parameters. `--layers` and `--hidden` make smaller skeletons of the
same layout (the GUI test uses one).

    python benchmarks/make_skeleton.py -o bench-out/llama70b.pt
"""

from __future__ import annotations

import argparse
import os
import time


def llama_shapes(layers=80, hidden=8192, kv_heads=8, heads=64, ffn=28672, vocab=32000):
    head_dim = hidden // heads
    kv = kv_heads * head_dim
    shapes = {"model.embed_tokens.weight": (vocab, hidden)}
    for i in range(layers):
        p = f"model.layers.{i}."
        shapes.update(
            {
                p + "self_attn.q_proj.weight": (hidden, hidden),
                p + "self_attn.k_proj.weight": (kv, hidden),
                p + "self_attn.v_proj.weight": (kv, hidden),
                p + "self_attn.o_proj.weight": (hidden, hidden),
                p + "mlp.gate_proj.weight": (ffn, hidden),
                p + "mlp.up_proj.weight": (ffn, hidden),
                p + "mlp.down_proj.weight": (hidden, ffn),
                p + "input_layernorm.weight": (hidden,),
                p + "post_attention_layernorm.weight": (hidden,),
            }
        )
    shapes["model.norm.weight"] = (hidden,)
    shapes["lm_head.weight"] = (vocab, hidden)
    return shapes


def write_skeleton(path: str, **kw) -> dict:
    import torch
    from torch._subclasses.fake_tensor import FakeTensorMode

    shapes = llama_shapes(**kw)
    with FakeTensorMode():
        sd = {k: torch.empty(s, dtype=torch.bfloat16) for k, s in shapes.items()}
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with torch.serialization.skip_data(materialize_fake_tensors=True):
        torch.save(sd, path)
    return shapes


def write_safetensors_shards(folder: str, shapes: dict, shards: int = 2) -> str:
    """The same shapes as a Hugging Face safetensors shard set (sparse files) + index."""
    import json
    import struct

    os.makedirs(folder, exist_ok=True)
    names = list(shapes)
    per = -(-len(names) // shards)
    weight_map, total = {}, 0
    for i in range(shards):
        part = names[i * per : (i + 1) * per]
        fname = f"model-{i + 1:05d}-of-{shards:05d}.safetensors"
        header, offset = {}, 0
        for n in part:
            size = 2
            for d in shapes[n]:
                size *= d
            header[n] = {"dtype": "BF16", "shape": list(shapes[n]), "data_offsets": [offset, offset + size]}
            offset += size
            weight_map[n] = fname
        raw = json.dumps(header).encode()
        raw += b" " * ((-len(raw)) % 8)
        with open(os.path.join(folder, fname), "wb") as fh:
            fh.write(struct.pack("<Q", len(raw)) + raw)
            fh.truncate(8 + len(raw) + offset)  # sparse: the bytes are never written
        total += offset
    index = os.path.join(folder, "model.safetensors.index.json")
    with open(index, "w") as fh:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, fh)
    return index


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", default="bench-out/llama70b.pt")
    ap.add_argument("--layers", type=int, default=80)
    ap.add_argument("--hidden", type=int, default=8192)
    ap.add_argument("--ffn", type=int, default=28672)
    ap.add_argument(
        "--safetensors-shards",
        metavar="FOLDER",
        help="also write the same shapes as a 2-shard safetensors set with an index",
    )
    args = ap.parse_args()
    t0 = time.perf_counter()
    shapes = write_skeleton(args.output, layers=args.layers, hidden=args.hidden, ffn=args.ffn)
    st = os.stat(args.output)
    n = sum(a * (b if len(s) > 1 else 1) for s in shapes.values() for a, b in [(s[0], s[-1])])
    print(
        f"{args.output}: {len(shapes)} tensors, {n:,} parameters, {st.st_size:,} bytes "
        f"apparent, {st.st_blocks * 512:,} bytes on disk, written in {time.perf_counter() - t0:.1f} s"
    )
    if args.safetensors_shards:
        print(write_safetensors_shards(args.safetensors_shards, shapes))


if __name__ == "__main__":
    main()
