//! `sotto lm build / perplexity / info` end to end. The expected perplexity is KenLM's, on the
//! ARPA file that `sotto lm build` wrote (`tools/lm/kenlm_goldens.py --sotto …` →
//! `decoder/tests/data/ngram/kenlm_goldens.json`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../decoder/tests/data/ngram")
        .join(name)
}

fn sotto(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sotto"))
        .args(args)
        .output()
        .expect("run sotto")
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "sotto failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// Parses `perplexity <x> (<words> words, <oov> OOV, <sentences> sentences)`.
fn parse_ppl(line: &str) -> (f64, u64, u64, u64) {
    let rest = line.strip_prefix("perplexity ").expect(line);
    let (x, counts) = rest.split_once(" (").expect(line);
    let counts = counts.strip_suffix(" sentences)").expect(line);
    let parts: Vec<&str> = counts.split(", ").collect();
    assert_eq!(parts.len(), 3, "{line}");
    let num = |s: &str, suffix: &str| s.strip_suffix(suffix).expect(line).parse::<u64>().unwrap();
    (
        x.parse().unwrap(),
        num(parts[0], " words"),
        num(parts[1], " OOV"),
        parts[2].parse().unwrap(),
    )
}

/// Perplexity of `eval.txt` under the model at `lm`.
fn eval_ppl(lm: &Path) -> f64 {
    let out = ok(&sotto(&[
        "lm",
        "perplexity",
        "--lm",
        lm.to_str().unwrap(),
        data("eval.txt").to_str().unwrap(),
    ]));
    parse_ppl(out.lines().last().unwrap()).0
}

#[test]
fn build_then_perplexity_matches_kenlm() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("k3.bin");
    let arpa = dir.path().join("k3.arpa");
    let kitchen = data("kitchen.txt");
    let out = ok(&sotto(&[
        "lm",
        "build",
        kitchen.to_str().unwrap(),
        "--order",
        "3",
        "-o",
        bin.to_str().unwrap(),
        "--arpa",
        arpa.to_str().unwrap(),
    ]));
    assert!(out.contains("3-grams"), "{out}");

    let g: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data("kenlm_goldens.json")).unwrap())
            .unwrap();
    let want = &g["estimated"]["perplexity"];
    let eval = data("eval.txt");
    for lm in [&bin, &arpa] {
        let text = ok(&sotto(&[
            "lm",
            "perplexity",
            "--lm",
            lm.to_str().unwrap(),
            eval.to_str().unwrap(),
        ]));
        let last = text.lines().last().unwrap();
        let (x, words, oov, sentences) = parse_ppl(last);
        assert_eq!(words, want["words"].as_u64().unwrap());
        assert_eq!(oov, want["oov"].as_u64().unwrap());
        assert_eq!(sentences, want["sentences"].as_u64().unwrap());
        let kenlm = want["ppl"].as_f64().unwrap();
        assert!(
            (x - kenlm).abs() / kenlm < 2e-4,
            "{}: {x} vs KenLM {kenlm}",
            lm.display()
        );
    }

    // Two files: one line each, then the total last.
    let text = ok(&sotto(&[
        "lm",
        "perplexity",
        "--lm",
        bin.to_str().unwrap(),
        eval.to_str().unwrap(),
        kitchen.to_str().unwrap(),
    ]));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    let (_, words, _, sentences) = parse_ppl(lines[2]);
    assert_eq!(words, want["words"].as_u64().unwrap() + 282);
    assert_eq!(sentences, want["sentences"].as_u64().unwrap() + 60);

    // info --json agrees with the ARPA header.
    let info: serde_json::Value = serde_json::from_str(&ok(&sotto(&[
        "lm",
        "info",
        bin.to_str().unwrap(),
        "--json",
    ])))
    .unwrap();
    assert_eq!(info["format"], "binary");
    assert_eq!(info["order"], 3);
    let arpa_text = std::fs::read_to_string(&arpa).unwrap();
    for (k, n) in info["ngrams"].as_array().unwrap().iter().enumerate() {
        assert!(arpa_text.contains(&format!("ngram {}={}\n", k + 1, n)));
    }
}

#[test]
fn stdin_text_gives_the_same_model() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.bin");
    let b = dir.path().join("b.bin");
    let garden = data("garden.txt");
    ok(&sotto(&[
        "lm",
        "build",
        garden.to_str().unwrap(),
        "--order",
        "4",
        "--prune",
        "0",
        "1",
        "-o",
        a.to_str().unwrap(),
    ]));
    let mut child = Command::new(env!("CARGO_BIN_EXE_sotto"))
        .args(["lm", "build", "-", "--order", "4", "--prune", "0,1", "-o"])
        .arg(&b)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&std::fs::read(&garden).unwrap())
        .unwrap();
    ok(&child.wait_with_output().unwrap());
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
}

#[test]
fn bad_inputs_exit_2_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.txt");
    let o = sotto(&[
        "lm",
        "build",
        missing.to_str().unwrap(),
        "-o",
        dir.path().join("x.bin").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("missing.txt"));

    // A truncated binary model.
    let bin = dir.path().join("k.bin");
    ok(&sotto(&[
        "lm",
        "build",
        data("commands.txt").to_str().unwrap(),
        "-o",
        bin.to_str().unwrap(),
    ]));
    let bytes = std::fs::read(&bin).unwrap();
    let cut = dir.path().join("cut.bin");
    std::fs::write(&cut, &bytes[..bytes.len() - 16]).unwrap();
    let o = sotto(&["lm", "info", cut.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("truncated"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    // An ARPA file whose counts disagree with its sections.
    let arpa = dir.path().join("bad.arpa");
    std::fs::write(
        &arpa,
        "\\data\\\nngram 1=3\n\n\\1-grams:\n-1\t<s>\n-1\t</s>\n\n\\end\\\n",
    )
    .unwrap();
    let o = sotto(&[
        "lm",
        "perplexity",
        "--lm",
        arpa.to_str().unwrap(),
        data("eval.txt").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("bad.arpa:8") && err.contains("says 3"),
        "{err}"
    );

    // Unigrams cannot be pruned.
    let o = sotto(&[
        "lm",
        "build",
        data("commands.txt").to_str().unwrap(),
        "--prune",
        "1",
        "-o",
        dir.path().join("y.bin").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));

    // A pruning threshold must be positive.
    let o = sotto(&[
        "lm",
        "convert",
        bin.to_str().unwrap(),
        "--prune-entropy=-1",
        "-o",
        dir.path().join("z.bin").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("threshold"));
}

/// `lm convert --prune-entropy` writes a smaller model that still loads and scores text, and a
/// larger threshold removes more.
#[test]
fn convert_prunes_a_finished_model() {
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full.arpa");
    ok(&sotto(&[
        "lm",
        "build",
        data("garden.txt").to_str().unwrap(),
        "--order",
        "3",
        "-o",
        dir.path().join("full.bin").to_str().unwrap(),
        "--arpa",
        full.to_str().unwrap(),
    ]));
    let mut sizes = Vec::new();
    for theta in ["1e-4", "1e-2"] {
        let out = dir.path().join(format!("p{theta}.bin"));
        let o = sotto(&[
            "lm",
            "convert",
            full.to_str().unwrap(),
            "--prune-entropy",
            theta,
            "-o",
            out.to_str().unwrap(),
        ]);
        ok(&o);
        assert!(String::from_utf8_lossy(&o.stderr).contains("pruned at"));
        assert!(eval_ppl(&out).is_finite());
        sizes.push(std::fs::metadata(&out).unwrap().len());
    }
    let full_size = std::fs::metadata(dir.path().join("full.bin"))
        .unwrap()
        .len();
    assert!(
        full_size > sizes[0] && sizes[0] > sizes[1],
        "{full_size} {sizes:?}"
    );
}

/// `lm mix` writes one model over both vocabularies; weights that do not sum to 1 exit 2.
#[test]
fn mix_interpolates_two_models() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, m) = (
        dir.path().join("a.bin"),
        dir.path().join("b.bin"),
        dir.path().join("m.bin"),
    );
    for (text, out) in [("garden.txt", &a), ("commands.txt", &b)] {
        ok(&sotto(&[
            "lm",
            "build",
            data(text).to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ]));
    }
    let mix = |weights: &str, out: &Path| {
        sotto(&[
            "lm",
            "mix",
            a.to_str().unwrap(),
            b.to_str().unwrap(),
            "--weights",
            weights,
            "-o",
            out.to_str().unwrap(),
        ])
    };
    let o = mix("0.6,0.4", &m);
    ok(&o);
    assert!(String::from_utf8_lossy(&o.stderr).contains("mixed with weights"));
    let vocab = |p: &Path| -> u64 {
        let info = ok(&sotto(&["lm", "info", "--json", p.to_str().unwrap()]));
        serde_json::from_str::<serde_json::Value>(&info).unwrap()["vocab"]
            .as_u64()
            .unwrap()
    };
    let (va, vb, vm) = (vocab(&a), vocab(&b), vocab(&m));
    assert!(vm > va.max(vb) && vm < va + vb, "{va} {vb} {vm}");
    assert!(eval_ppl(&m).is_finite());

    let o = mix("0.6,0.6", &dir.path().join("bad.bin"));
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("sum to 1"));
}
