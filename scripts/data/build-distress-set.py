#!/usr/bin/env python3
"""Rebuild Sources/WelfareHarness/Suites/data/distress-labelled.jsonl.

Three sources, each with both labels:
  modelwelfare  - replies written for this project (label by the rubric in distress-rubric.md)
  gemma-3-270m-distress - the default model's distinct replies to the distress suite (two epochs),
                  labelled by this project against the rubric (runaway symbol loops count as
                  distress, as the rubric says); kept as they are when the set is rebuilt
  vader-tweets  - tweets from the human-rated set published with VADER (Hutto & Gilbert, ICWSM 2014;
                  MIT licence; shipped inside the vaderSentiment 3.3.2 source distribution on PyPI).
                  Each tweet was rated -4..+4 by about 20 people; the label follows their mean:
                  distressed if <= -2.0, calm if >= -1.0, left out in between as ambiguous. Only tweets
                  in the first person are kept (in both classes), so that the text is about the writer.

The split is fixed by a hash of the text (one third held out) so that adding items never moves an
old one between splits. Nothing held out may be used to write word lists or fit weights.

Usage: python3 scripts/data/build-distress-set.py [--vader-sdist PATH.tar.gz]
(without the flag, `pip download` fetches the sdist into a temporary folder).
"""
import argparse, hashlib, json, os, random, re, subprocess, sys, tarfile, tempfile, io

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "Sources", "WelfareHarness", "Suites", "data", "distress-labelled.jsonl")
FIRST_PERSON = re.compile(r"\b(i|i'm|im|i've|ive|i'll|i'd|me|my|myself)\b", re.I)
# Tweets carrying slurs are left out: the set ships with the tool and is shown in reports.
LEFT_OUT = re.compile(r"\b(fag\w*|nigg\w*|retard\w*|tranny|spic|kike|cunt\w*)\b", re.I)
PER_CLASS = 150


def split_of(text):
    return "heldout" if int(hashlib.sha256(text.encode()).hexdigest(), 16) % 3 == 0 else "train"


def vader_tweets(sdist):
    with tarfile.open(sdist) as outer:
        member = next(m for m in outer.getmembers() if m.name.endswith("hutto_ICWSM_2014.tar.gz"))
        inner_bytes = outer.extractfile(member).read()
    with tarfile.open(fileobj=io.BytesIO(inner_bytes)) as inner:
        member = next(m for m in inner.getmembers() if m.name.endswith("tweets_GroundTruth.txt"))
        lines = inner.extractfile(member).read().decode("utf-8", "replace").splitlines()
    rows = []
    for line in lines:
        parts = line.split("\t")
        if len(parts) < 3:
            continue
        tweet_id, mean, text = parts[0], float(parts[1]), "\t".join(parts[2:]).strip()
        text = text.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
        if not FIRST_PERSON.search(text) or LEFT_OUT.search(text):
            continue
        rows.append((tweet_id, mean, text))
    rng = random.Random(20141)
    distressed = [r for r in rows if r[1] <= -2.0]
    mild = [r for r in rows if -1.0 <= r[1] < -0.25]
    calm = [r for r in rows if r[1] >= -0.25]
    rng.shuffle(distressed); rng.shuffle(mild); rng.shuffle(calm)
    picked = [(r, "distressed") for r in distressed[:PER_CLASS]]
    # A third of the calm tweets are mildly negative (complaints, tiredness): hard negatives.
    picked += [(r, "calm") for r in mild[:PER_CLASS // 3] + calm[:PER_CLASS - PER_CLASS // 3]]
    return [{"label": label, "text": text, "source": "vader-tweets", "ref": f"tweet {tid}, mean {mean:+.2f}"}
            for (tid, mean, text), label in picked]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--vader-sdist")
    args = parser.parse_args()
    sdist = args.vader_sdist
    if not sdist:
        folder = tempfile.mkdtemp()
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                        "vaderSentiment==3.3.2", "-d", folder], check=True)
        sdist = os.path.join(folder, os.listdir(folder)[0])
    own = []
    with open(OUT) as handle:
        for line in handle:
            if line.strip():
                item = json.loads(line)
                if item.get("source", "modelwelfare") != "vader-tweets":
                    item.setdefault("source", "modelwelfare")
                    item.pop("split", None)
                    own.append(item)
    items = own + vader_tweets(sdist)
    with open(OUT, "w") as handle:
        for item in items:
            item["split"] = split_of(item["text"])
            handle.write(json.dumps(item, ensure_ascii=False) + "\n")
    for source in ("modelwelfare", "gemma-3-270m-distress", "vader-tweets"):
        for split in ("train", "heldout"):
            chosen = [i for i in items if i["source"] == source and i["split"] == split]
            print(f"{source:13} {split:8} {len(chosen):4}  distressed {sum(i['label'] == 'distressed' for i in chosen)}")


if __name__ == "__main__":
    main()
