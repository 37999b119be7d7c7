//! The streaming RNN-T transducer network (TODO).
