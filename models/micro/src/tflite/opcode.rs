//! Builtin operator codes: the ones sotto implements, and schema names for messages.

use alloc::string::{String, ToString};

pub(crate) const ADD: i32 = 0;
pub(crate) const CONCATENATION: i32 = 2;
pub(crate) const CONV_2D: i32 = 3;
pub(crate) const DEPTHWISE_CONV_2D: i32 = 4;
pub(crate) const FULLY_CONNECTED: i32 = 9;
pub(crate) const LOGISTIC: i32 = 14;
pub(crate) const MUL: i32 = 18;
pub(crate) const RESHAPE: i32 = 22;
pub(crate) const STRIDED_SLICE: i32 = 45;
pub(crate) const SPLIT_V: i32 = 102;
pub(crate) const QUANTIZE: i32 = 114;
pub(crate) const CALL_ONCE: i32 = 129;
pub(crate) const VAR_HANDLE: i32 = 142;
pub(crate) const READ_VARIABLE: i32 = 143;
pub(crate) const ASSIGN_VARIABLE: i32 = 144;
pub(crate) const SUPPORTED: [i32; 15] = [
    ADD,
    CONCATENATION,
    CONV_2D,
    DEPTHWISE_CONV_2D,
    FULLY_CONNECTED,
    LOGISTIC,
    MUL,
    RESHAPE,
    STRIDED_SLICE,
    SPLIT_V,
    QUANTIZE,
    CALL_ONCE,
    VAR_HANDLE,
    READ_VARIABLE,
    ASSIGN_VARIABLE,
];

/// Schema name of a builtin operator code (for messages).
// `msg!` is a `&str` without the `messages` feature.
#[allow(clippy::useless_conversion)]
pub fn op_name(code: i32) -> String {
    let name = match code {
        0 => "ADD",
        1 => "AVERAGE_POOL_2D",
        2 => "CONCATENATION",
        3 => "CONV_2D",
        4 => "DEPTHWISE_CONV_2D",
        6 => "DEQUANTIZE",
        9 => "FULLY_CONNECTED",
        14 => "LOGISTIC",
        16 => "LSTM",
        17 => "MAX_POOL_2D",
        18 => "MUL",
        19 => "RELU",
        21 => "RELU6",
        22 => "RESHAPE",
        25 => "SOFTMAX",
        27 => "SVDF",
        28 => "TANH",
        32 => "CUSTOM",
        34 => "PAD",
        39 => "TRANSPOSE",
        40 => "MEAN",
        41 => "SUB",
        43 => "SQUEEZE",
        44 => "UNIDIRECTIONAL_SEQUENCE_LSTM",
        45 => "STRIDED_SLICE",
        49 => "SPLIT",
        53 => "CAST",
        65 => "SLICE",
        70 => "EXPAND_DIMS",
        83 => "PACK",
        88 => "UNPACK",
        97 => "RESIZE_NEAREST_NEIGHBOR",
        102 => "SPLIT_V",
        114 => "QUANTIZE",
        117 => "HARD_SWISH",
        126 => "BATCH_MATMUL",
        129 => "CALL_ONCE",
        142 => "VAR_HANDLE",
        143 => "READ_VARIABLE",
        144 => "ASSIGN_VARIABLE",
        150 => "GELU",
        _ => return msg!("BUILTIN_{code}").into(),
    };
    name.to_string()
}
