//! Typed accessors for the parts of the TFLite flatbuffer schema (`schema.fbs`, file identifier
//! `TFL3`) that sotto reads.
//!
//! Every table type implements [`flatbuffers::Verifiable`] for exactly the fields it exposes, so
//! [`root`] runs the flatbuffers verifier over everything an accessor can later touch: offsets,
//! vtables, vector lengths and string bounds. Union values (operator options) are verified by
//! their type tag; [`Operator::options`] only hands out a table whose tag was verified.

use flatbuffers::{
    Follow, ForwardsUOffset, InvalidFlatbuffer, Table, Vector, Verifiable, Verifier,
    VerifierOptions,
};

/// Declares a table wrapper with one accessor per field (`name: field_id => FlatbufferType`) and
/// a verifier that visits all those fields.
macro_rules! fb_table {
    ($(#[$m:meta])* $name:ident { $($field:ident : $id:literal => $fty:ty),* $(,)? }) => {
        fb_table!(@decl $(#[$m])* $name { $($field : $id => $fty),* });
        impl<'a> Verifiable for $name<'a> {
            fn run_verifier(v: &mut Verifier, pos: usize) -> Result<(), InvalidFlatbuffer> {
                v.visit_table(pos)?
                    $(.visit_field::<$fty>(stringify!($field), 4 + 2 * $id, false)?)*
                    .finish();
                Ok(())
            }
        }
    };
    (@decl $(#[$m:meta])* $name:ident { $($field:ident : $id:literal => $fty:ty),* }) => {
        $(#[$m])*
        #[derive(Clone, Copy)]
        pub struct $name<'a>(Table<'a>);
        impl<'a> Follow<'a> for $name<'a> {
            type Inner = Self;
            unsafe fn follow(buf: &'a [u8], loc: usize) -> Self {
                // SAFETY: forwarded from the caller (a verified position).
                Self(unsafe { Table::new(buf, loc) })
            }
        }
        #[allow(dead_code)]
        impl<'a> $name<'a> {
            $(
                #[doc = concat!("Field `", stringify!($field), "` (None when absent).")]
                pub fn $field(&self) -> Option<<$fty as Follow<'a>>::Inner> {
                    // SAFETY: the verifier visited this field with this type.
                    unsafe { self.0.get::<$fty>(4 + 2 * $id, None) }
                }
            )*
        }
    };
}

type Vec32<'a> = ForwardsUOffset<Vector<'a, i32>>;
type VecOf<'a, T> = ForwardsUOffset<Vector<'a, ForwardsUOffset<T>>>;
type Str<'a> = ForwardsUOffset<&'a str>;

fb_table!(
    /// The root table.
    Model {
        version: 0 => u32,
        operator_codes: 1 => VecOf<'a, OperatorCode<'a>>,
        subgraphs: 2 => VecOf<'a, SubGraph<'a>>,
        description: 3 => Str<'a>,
        buffers: 4 => VecOf<'a, Buffer<'a>>,
    }
);

fb_table!(
    /// An operator kind; the real code is `max(deprecated_builtin_code, builtin_code)`.
    OperatorCode {
        deprecated_builtin_code: 0 => i8,
        custom_code: 1 => Str<'a>,
        version: 2 => i32,
        builtin_code: 3 => i32,
    }
);

fb_table!(
    /// One graph: tensors, operators, inputs and outputs.
    SubGraph {
        tensors: 0 => VecOf<'a, Tensor<'a>>,
        inputs: 1 => Vec32<'a>,
        outputs: 2 => Vec32<'a>,
        operators: 3 => VecOf<'a, Operator<'a>>,
        name: 4 => Str<'a>,
    }
);

fb_table!(
    /// A tensor description (data lives in a [`Buffer`]).
    Tensor {
        shape: 0 => Vec32<'a>,
        tensor_type: 1 => i8,
        buffer: 2 => u32,
        name: 3 => Str<'a>,
        quantization: 4 => ForwardsUOffset<QuantizationParameters<'a>>,
        is_variable: 5 => bool,
    }
);

fb_table!(
    /// Affine quantization: `real = scale * (q - zero_point)`, per tensor or per channel.
    QuantizationParameters {
        scale: 2 => ForwardsUOffset<Vector<'a, f32>>,
        zero_point: 3 => ForwardsUOffset<Vector<'a, i64>>,
        quantized_dimension: 6 => i32,
    }
);

fb_table!(
    /// Raw constant data, inline (`data`) or appended after the flatbuffer (`offset`, `size`).
    Buffer {
        data: 0 => ForwardsUOffset<Vector<'a, u8>>,
        offset: 1 => u64,
        size: 2 => u64,
    }
);

fb_table!(@decl
    /// One operator node.
    Operator {
        opcode_index: 0 => u32,
        inputs: 1 => Vec32<'a>,
        outputs: 2 => Vec32<'a>,
        builtin_options_type: 3 => u8,
        intermediates: 8 => Vec32<'a>
    }
);

/// `BuiltinOptions` union tags of the options tables sotto reads.
pub mod options_type {
    /// Conv2DOptions.
    pub const CONV_2D: u8 = 1;
    /// DepthwiseConv2DOptions.
    pub const DEPTHWISE_CONV_2D: u8 = 2;
    /// FullyConnectedOptions.
    pub const FULLY_CONNECTED: u8 = 8;
    /// AddOptions.
    pub const ADD: u8 = 11;
    /// MulOptions.
    pub const MUL: u8 = 21;
    /// ConcatenationOptions.
    pub const CONCATENATION: u8 = 10;
    /// ReshapeOptions.
    pub const RESHAPE: u8 = 17;
    /// StridedSliceOptions.
    pub const STRIDED_SLICE: u8 = 32;
    /// SplitVOptions.
    pub const SPLIT_V: u8 = 79;
    /// CallOnceOptions.
    pub const CALL_ONCE: u8 = 103;
    /// VarHandleOptions.
    pub const VAR_HANDLE: u8 = 111;
}

impl<'a> Verifiable for Operator<'a> {
    fn run_verifier(v: &mut Verifier, pos: usize) -> Result<(), InvalidFlatbuffer> {
        use options_type as t;
        v.visit_table(pos)?
            .visit_field::<u32>("opcode_index", 4, false)?
            .visit_field::<Vec32<'a>>("inputs", 6, false)?
            .visit_field::<Vec32<'a>>("outputs", 8, false)?
            .visit_field::<Vec32<'a>>("intermediates", 20, false)?
            .visit_union::<u8, _>(
                "builtin_options_type",
                10,
                "builtin_options",
                12,
                false,
                |tag, v, p| {
                    match tag {
                        t::CONV_2D => v.verify_union_variant::<ForwardsUOffset<Conv2DOptions>>(
                            "Conv2DOptions",
                            p,
                        ),
                        t::DEPTHWISE_CONV_2D => v
                            .verify_union_variant::<ForwardsUOffset<DepthwiseConv2DOptions>>(
                                "DepthwiseConv2DOptions",
                                p,
                            ),
                        t::FULLY_CONNECTED => v
                            .verify_union_variant::<ForwardsUOffset<FullyConnectedOptions>>(
                                "FullyConnectedOptions",
                                p,
                            ),
                        t::CONCATENATION => v
                            .verify_union_variant::<ForwardsUOffset<ConcatenationOptions>>(
                                "ConcatenationOptions",
                                p,
                            ),
                        t::ADD => {
                            v.verify_union_variant::<ForwardsUOffset<AddOptions>>("AddOptions", p)
                        }
                        t::MUL => {
                            v.verify_union_variant::<ForwardsUOffset<MulOptions>>("MulOptions", p)
                        }
                        t::RESHAPE => v.verify_union_variant::<ForwardsUOffset<ReshapeOptions>>(
                            "ReshapeOptions",
                            p,
                        ),
                        t::STRIDED_SLICE => v
                            .verify_union_variant::<ForwardsUOffset<StridedSliceOptions>>(
                                "StridedSliceOptions",
                                p,
                            ),
                        t::SPLIT_V => v.verify_union_variant::<ForwardsUOffset<SplitVOptions>>(
                            "SplitVOptions",
                            p,
                        ),
                        t::CALL_ONCE => v.verify_union_variant::<ForwardsUOffset<CallOnceOptions>>(
                            "CallOnceOptions",
                            p,
                        ),
                        t::VAR_HANDLE => v
                            .verify_union_variant::<ForwardsUOffset<VarHandleOptions>>(
                                "VarHandleOptions",
                                p,
                            ),
                        // Options of other ops are never read (those ops are rejected at load).
                        _ => Ok(()),
                    }
                },
            )?
            .finish();
        Ok(())
    }
}

/// An options table type with its union tag.
pub trait OptionsTable<'a>: Follow<'a, Inner = Self> + 'a {
    /// The `BuiltinOptions` tag this table is verified under.
    const TAG: u8;
}

impl<'a> Operator<'a> {
    /// The builtin options if they are present and of type `T` (the verifier checked exactly
    /// this combination of tag and table).
    pub fn options<T: OptionsTable<'a>>(&self) -> Option<T> {
        if self.builtin_options_type()? != T::TAG {
            return None;
        }
        // SAFETY: the verifier visited the union value as `T` for this tag.
        unsafe { self.0.get::<ForwardsUOffset<T>>(12, None) }
    }
}

macro_rules! options_table {
    ($name:ident, $tag:expr, { $($field:ident : $id:literal => $fty:ty),* $(,)? }) => {
        fb_table!(
            #[doc = concat!("`", stringify!($name), "`.")]
            $name { $($field : $id => $fty),* }
        );
        impl<'a> OptionsTable<'a> for $name<'a> {
            const TAG: u8 = $tag;
        }
    };
}

options_table!(Conv2DOptions, options_type::CONV_2D, {
    padding: 0 => i8, stride_w: 1 => i32, stride_h: 2 => i32,
    fused_activation_function: 3 => i8, dilation_w_factor: 4 => i32, dilation_h_factor: 5 => i32,
});
options_table!(DepthwiseConv2DOptions, options_type::DEPTHWISE_CONV_2D, {
    padding: 0 => i8, stride_w: 1 => i32, stride_h: 2 => i32, depth_multiplier: 3 => i32,
    fused_activation_function: 4 => i8, dilation_w_factor: 5 => i32, dilation_h_factor: 6 => i32,
});
options_table!(FullyConnectedOptions, options_type::FULLY_CONNECTED, {
    fused_activation_function: 0 => i8, weights_format: 1 => i8, keep_num_dims: 2 => bool,
});
options_table!(ConcatenationOptions, options_type::CONCATENATION, {
    axis: 0 => i32, fused_activation_function: 1 => i8,
});
options_table!(AddOptions, options_type::ADD, { fused_activation_function: 0 => i8 });
options_table!(MulOptions, options_type::MUL, { fused_activation_function: 0 => i8 });
options_table!(ReshapeOptions, options_type::RESHAPE, { new_shape: 0 => Vec32<'a> });
options_table!(StridedSliceOptions, options_type::STRIDED_SLICE, {
    begin_mask: 0 => i32, end_mask: 1 => i32, ellipsis_mask: 2 => i32,
    new_axis_mask: 3 => i32, shrink_axis_mask: 4 => i32, offset: 5 => bool,
});
options_table!(SplitVOptions, options_type::SPLIT_V, { num_splits: 0 => i32 });
options_table!(CallOnceOptions, options_type::CALL_ONCE, { init_subgraph_index: 0 => i32 });
options_table!(VarHandleOptions, options_type::VAR_HANDLE, {
    container: 0 => Str<'a>, shared_name: 1 => Str<'a>,
});

/// Verifies `buf` as a TFLite model (identifier `TFL3`) and returns its root table.
pub fn root(buf: &[u8]) -> Result<Model<'_>, InvalidFlatbuffer> {
    let opts = VerifierOptions {
        max_depth: 32,
        max_tables: 1 << 20,
        max_apparent_size: 1 << 31,
        ignore_missing_null_terminator: true,
    };
    flatbuffers::root_with_opts::<Model>(&opts, buf)
}

/// Whether `buf` carries the TFLite file identifier.
pub fn has_identifier(buf: &[u8]) -> bool {
    buf.len() >= 8 && flatbuffers::buffer_has_identifier(buf, "TFL3", false)
}
