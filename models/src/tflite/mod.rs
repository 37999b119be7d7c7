//! TFLite flatbuffer reader and int8 interpreter (TODO).
