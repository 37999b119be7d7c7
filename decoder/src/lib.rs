//! Search over transducer network outputs: greedy and modified beam search, hotword biasing,
//! endpoint rules, timestamps and BPE pieces → words. Knows nothing of audio or model files:
//! the network is reached through a trait.
