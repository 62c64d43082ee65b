import os

import pytest
import torch

# Tests share two cores with whatever else runs; one thread each keeps timings predictable.
torch.set_num_threads(1)
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


@pytest.fixture
def tiny_cfg(tmp_path):
    """tiny_cfg(name, *overrides): a seconds-long offline config writing into tmp_path."""
    from genai_core.registry import get

    def make(name, *overrides):
        spec = get(name)
        return spec.config([*spec.tiny, f"out_dir={tmp_path / name}", *overrides])

    return make


@pytest.fixture(scope="session")
def app_url():
    """The assembled app, served once for the whole test session on 127.0.0.1."""
    from app import LAUNCH, build_app

    app = build_app()
    app.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True, **LAUNCH)
    yield app.local_url
    app.close()


@pytest.fixture(scope="session")
def client(app_url):
    from gradio_client import Client

    return Client(app_url, verbose=False)


@pytest.fixture(scope="session")
def real_photo_folder(tmp_path_factory):
    """A small stand-in for ../shared/data's labelled real photos, drawn by the project: LFW-style
    (people with several photos, the 74-column table), Celeb1k-style (train/val, CelebA columns, hair
    masks) and real_faces_128-style archives of procedural faces, labelled from their attributes."""
    return write_real_photo_folder(tmp_path_factory.mktemp("real_faces"))


def write_real_photo_folder(folder):
    import csv
    import io
    import tarfile

    from PIL import Image

    from genai_core.data.faces import render_batch, render_hair_twins, sample_attributes
    from genai_core.data.real_faces import CELEB1K_TABLE, INTERFACE_TABLE, LFW_TABLE
    from genai_core.images import to_uint8

    lfw_columns = ["Eyeglasses", "No Eyewear", "Sunglasses", "Male", "Female", "Smiling", "Frowning",
                   "Blond Hair", "Black Hair", "Brown Hair", "Gray Hair", "Youth", "Senior", "No Beard",
                   "Goatee", "Wearing Hat", "Bald"]
    celeba_columns = ["Eyeglasses", "Male", "Smiling", "Blond_Hair", "Black_Hair", "Brown_Hair", "Gray_Hair",
                      "Young", "No_Beard", "Goatee", "Wearing_Hat", "Bald"]

    def jpeg(image):
        buffer = io.BytesIO()
        Image.fromarray(to_uint8(image).permute(1, 2, 0).numpy()).save(buffer, format="JPEG", quality=90)
        return buffer.getvalue()

    def add(archive, name, data):
        info = tarfile.TarInfo(name)
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))

    def labels(a, i, celeba):
        glasses, male, hair = int(a["eyeglasses"][i]), int(a["male"][i]), int(a["hair_colour"][i])
        smile = int(a["smile"][i] > 0.3)
        if celeba:
            row = dict.fromkeys(celeba_columns, 0)
            row |= {"Eyeglasses": glasses, "Male": male, "Smiling": smile, "Young": 1, "No_Beard": 1 - male}
            row[("Blond_Hair", "Black_Hair", "Brown_Hair", "Gray_Hair")[hair]] = 1
            return row
        row = dict.fromkeys(lfw_columns, 0)
        row |= {"Eyeglasses" if glasses else "No Eyewear": 1, "Male" if male else "Female": 1,
                "Smiling" if smile else "Frowning": 1, "Youth": 1}
        if i % 7:  # some photos keep no hair label, as in LFW
            row[("Blond Hair", "Black Hair", "Brown Hair", "Gray Hair")[hair]] = 1
        return row

    images, attributes = render_batch(96, 21, 128)
    with tarfile.open(folder / "lfw_faces_128.tar", "w") as archive, open(folder / LFW_TABLE, "w") as table:
        writer = csv.DictWriter(table, ["file", "person", *lfw_columns])
        writer.writeheader()
        for i, image in enumerate(images):
            person = f"Person_{i // 3:03d}"  # three photos each
            name = f"{person}/{person}_{i % 3 + 1:04d}.jpg"
            add(archive, f"lfw_faces_128/{name}", jpeg(image))
            writer.writerow({"file": name, "person": person, **labels(attributes, i, False)})
    faces, _, masks = render_hair_twins(24, 22, 256, "blond", "black")
    blond = sample_attributes(24, 22, hair_colour=0.0)  # the attributes render_hair_twins drew
    with tarfile.open(folder / "celeb1k_256.tar", "w") as archive, open(folder / CELEB1K_TABLE, "w") as table:
        writer = csv.DictWriter(table, ["file", "mask", "split", "celeba_file", *celeba_columns])
        writer.writeheader()
        for i, (image, mask) in enumerate(zip(faces, masks, strict=True)):
            split = "val" if i % 4 == 0 else "train"
            name = f"celeb1k_256/{split}/{i}.jpg"
            add(archive, name, jpeg(image))
            buffer = io.BytesIO()
            Image.fromarray(mask[0].numpy().astype("uint8") * 255).save(buffer, format="PNG")
            add(archive, name.replace(".jpg", "_hair.png"), buffer.getvalue())
            writer.writerow({"file": name, "mask": name.replace(".jpg", "_hair.png"), "split": split,
                             "celeba_file": f"{i:06d}.jpg", **labels(blond, i, True)})
    images, attributes = render_batch(16, 23, 128)
    interface = open(folder / INTERFACE_TABLE, "w")
    with tarfile.open(folder / "real_faces_128.tar", "w") as archive, interface as table:
        writer = csv.DictWriter(table, ["file", "celeba_file", *celeba_columns])
        writer.writeheader()
        for i, image in enumerate(images):
            name = f"real_faces_128/{'test' if i % 4 == 0 else 'train'}_{i:06d}.jpg"
            add(archive, name, jpeg(image))
            writer.writerow({"file": name, "celeba_file": f"{i:06d}.jpg", **labels(attributes, i, True)})
    return folder
