//! Endpoint rules at their exact frame thresholds (40 ms frames).

use sotto_decoder::toy::TableTransducer;
use sotto_decoder::{Decoder, DecoderOptions, EndpointConfig, EndpointRule, SearchMethod};

const FRAME: f32 = 0.04;

#[test]
fn default_thresholds_in_frames() {
    let cfg = EndpointConfig::default();
    // Rule 1: 2.4 s = 60 frames of silence, nothing decoded.
    assert_eq!(cfg.detect(59, 59, FRAME), None);
    assert_eq!(cfg.detect(60, 60, FRAME), Some(EndpointRule::Rule1));
    // Rule 2: 1.2 s = 30 frames of silence after speech.
    assert_eq!(cfg.detect(40, 29, FRAME), None);
    assert_eq!(cfg.detect(40, 30, FRAME), Some(EndpointRule::Rule2));
    // Rule 3: 20 s = 500 frames, whatever the silence.
    assert_eq!(cfg.detect(499, 0, FRAME), None);
    assert_eq!(cfg.detect(500, 0, FRAME), Some(EndpointRule::Rule3));
    // Other frame rates: 30 ms frames need 40 frames for 1.2 s.
    assert_eq!(cfg.detect(50, 39, 0.03), None);
    assert_eq!(cfg.detect(50, 40, 0.03), Some(EndpointRule::Rule2));
}

#[test]
fn custom_rules() {
    let mut cfg = EndpointConfig::default();
    cfg.rule2.min_utterance_length = 2.0; // 50 frames
    assert_eq!(cfg.detect(49, 30, FRAME), None);
    assert_eq!(cfg.detect(50, 30, FRAME), Some(EndpointRule::Rule2));
    cfg.rule1.must_contain_nonsilence = true;
    assert_eq!(cfg.detect(60, 60, FRAME), None);
}

fn decoder(net: &TableTransducer, method: SearchMethod) -> Decoder<TableTransducer> {
    let opts = DecoderOptions {
        method,
        frame_duration: FRAME,
        ..Default::default()
    };
    Decoder::new(net, opts).unwrap()
}

#[test]
fn decoder_counts_trailing_blanks_per_segment() {
    // Speech at frames 0 and 2, then silence.
    let mut spell = vec![Some(1), None, Some(2)];
    spell.extend([None; 100]);
    let net = TableTransducer::spelling(4, &spell);
    let cfg = EndpointConfig::default();
    let frame = |i: usize| &net.frames()[i * 4..(i + 1) * 4];
    for m in [
        SearchMethod::Greedy {
            max_symbols_per_frame: 2,
        },
        SearchMethod::ModifiedBeam { beam: 4 },
    ] {
        let mut dec = decoder(&net, m);
        let mut fired = None;
        for i in 0..spell.len() {
            dec.accept_frames(&net, frame(i)).unwrap();
            if let Some(rule) = dec.endpoint(&cfg) {
                fired = Some((i, rule));
                break;
            }
        }
        // Last emission at frame 2; frames 3..=32 are the 30 silent frames.
        assert_eq!(fired, Some((32, EndpointRule::Rule2)), "{m:?}");
        // A new segment: now only rule 1 (60 silent frames, no speech) can fire.
        dec.reset(&net);
        assert_eq!(dec.endpoint(&cfg), None);
        let mut n = 0;
        while dec.endpoint(&cfg).is_none() {
            dec.accept_frames(&net, frame(33 + n)).unwrap();
            n += 1;
        }
        assert_eq!(
            (n, dec.endpoint(&cfg)),
            (60, Some(EndpointRule::Rule1)),
            "{m:?}"
        );
        // Frame indices keep counting from the stream start.
        assert_eq!(dec.frames_decoded(), 93);
    }
}

#[test]
fn reset_keep_context_continues_the_prediction_network() {
    // Segment 1 ends with token 1; segment 2 starts with a frame that says 1 again. The toy
    // network penalizes repeating the last token, so only a fresh reset emits it.
    let net = TableTransducer::spelling(4, &[Some(1), None, Some(1), None]);
    for m in [
        SearchMethod::Greedy {
            max_symbols_per_frame: 1,
        },
        SearchMethod::ModifiedBeam { beam: 3 },
    ] {
        let mut fresh = decoder(&net, m);
        let mut kept = decoder(&net, m);
        for d in [&mut fresh, &mut kept] {
            d.accept_frames(&net, &net.frames()[..8]).unwrap();
            assert_eq!(d.finish_hypothesis().ids(), vec![1]);
        }
        fresh.reset(&net);
        kept.reset_keep_context();
        for d in [&mut fresh, &mut kept] {
            d.accept_frames(&net, &net.frames()[8..]).unwrap();
        }
        let (f, k) = (fresh.finish_hypothesis(), kept.finish_hypothesis());
        assert_eq!(f.ids(), vec![1], "{m:?}");
        assert_eq!(f.tokens[0].frame, 2);
        assert_eq!(k.ids(), Vec::<usize>::new(), "{m:?}");
    }
}
