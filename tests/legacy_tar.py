"""Write a checkpoint in torch's legacy tar layout (no modern torch can write it): a test fixture."""

import io
import pickle
import struct
import sys
import tarfile

import numpy as np


def header(key, location, cls):
    """pickle of (key, location, torch.<cls>) without importing torch."""

    def u(text):
        raw = text.encode()
        return b"X" + struct.pack("<I", len(raw)) + raw

    return b"\x80\x02" + u(key) + u(location) + b"ctorch\n" + cls.encode() + b"\n\x87."


def member(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def write(path, w, b):
    st = io.BytesIO()
    pickle.dump(2, st, protocol=2)
    for key, arr, cls in (("1", w, "FloatStorage"), ("2", b, "LongStorage")):
        st.write(header(key, "cpu", cls))
        st.write(struct.pack("<q", arr.size))
        st.write(arr.tobytes())
    pickle.dump([], st, protocol=2)
    te = io.BytesIO()
    pickle.dump(2, te, protocol=2)
    for key, sid, arr in (("10", "1", w), ("11", "2", b)):
        pickle.dump((key, sid, "FloatTensor"), te, protocol=2)
        te.write(struct.pack("<i", arr.ndim))
        te.write(b"\0" * 4)
        te.write(struct.pack(f"<{arr.ndim}q", *arr.shape))
        te.write(struct.pack(f"<{arr.ndim}q", *[s // arr.itemsize for s in arr.strides]))
        te.write(struct.pack("<q", 0))

    class P(pickle.Pickler):
        def persistent_id(self, obj):
            return {"W": "10", "B": "11"}.get(obj) if isinstance(obj, str) and obj in ("W", "B") else None

    pk = io.BytesIO()
    P(pk, protocol=2).dump({"weight": "W", "counts": "B", "epoch": 3})
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        member(tar, "sys_info", pickle.dumps({"protocol_version": 1000, "little_endian": True}))
        member(tar, "pickle", pk.getvalue())
        member(tar, "tensors", te.getvalue())
        member(tar, "storages", st.getvalue())


if __name__ == "__main__":
    write(sys.argv[1], np.arange(6, dtype=np.float32).reshape(2, 3), np.array([5, 6, 7], dtype=np.int64))
