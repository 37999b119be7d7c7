//! A TFLite flatbuffer writer for the subset of the schema the reader supports: int8/int32
//! tensors with affine (per-tensor or per-channel) quantization, resource variables, inline
//! constant buffers (16-byte aligned, like the TFLite converter writes them) and the builtin
//! options of the operators in [`opcode`](super::opcode). The model is described with plain
//! data ([`ModelDesc`]) and serialized with [`write`]; [`Model::from_bytes`](super::Model)
//! and the TFLite runtime both load the result.

use alloc::string::String;
use alloc::vec::Vec;
use flatbuffers::{FlatBufferBuilder, Push, PushAlignment, WIPOffset};

/// `TensorType` codes of the schema.
pub mod tensor_type {
    /// float32.
    pub const FLOAT32: i8 = 0;
    /// int32 (biases, shapes, slice indices).
    pub const INT32: i8 = 2;
    /// uint8.
    pub const UINT8: i8 = 3;
    /// int8.
    pub const INT8: i8 = 9;
    /// A resource (variable handle).
    pub const RESOURCE: i8 = 13;
}

/// Affine quantization `real = scale * (q - zero_point)`; several scales = per channel along
/// `quantized_dimension`.
#[derive(Clone, Debug, PartialEq)]
pub struct Quant {
    /// Scales (one, or one per channel).
    pub scale: Vec<f32>,
    /// Zero points (as many as scales).
    pub zero_point: Vec<i64>,
    /// The channel axis of per-channel quantization.
    pub quantized_dimension: i32,
}

/// One tensor of a subgraph.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorDesc {
    /// Name (for messages).
    pub name: String,
    /// Shape.
    pub shape: Vec<i32>,
    /// A [`tensor_type`] code.
    pub dtype: i8,
    /// Index into [`ModelDesc::buffers`] (0 = the empty buffer: no constant data).
    pub buffer: u32,
    /// Quantization, if any.
    pub quant: Option<Quant>,
}

/// Builtin options of an operator (fused activation: 0 none, 1 ReLU, 3 ReLU6; padding: 0 SAME,
/// 1 VALID).
#[allow(missing_docs)] // the fields are the schema's, named as there
#[derive(Clone, Debug, PartialEq)]
pub enum Options {
    /// No options table.
    None,
    /// `Conv2DOptions`.
    Conv2D {
        padding: i8,
        stride_w: i32,
        stride_h: i32,
        activation: i8,
        dilation_w: i32,
        dilation_h: i32,
    },
    /// `DepthwiseConv2DOptions`.
    DepthwiseConv2D {
        padding: i8,
        stride_w: i32,
        stride_h: i32,
        depth_multiplier: i32,
        activation: i8,
        dilation_w: i32,
        dilation_h: i32,
    },
    /// `FullyConnectedOptions` (default weights format).
    FullyConnected { activation: i8, keep_num_dims: bool },
    /// `ConcatenationOptions`.
    Concatenation { axis: i32, activation: i8 },
    /// `AddOptions`.
    Add { activation: i8 },
    /// `MulOptions`.
    Mul { activation: i8 },
    /// `ReshapeOptions` (the new shape; the converter usually passes it as an input instead).
    Reshape { new_shape: Option<Vec<i32>> },
    /// `StridedSliceOptions`.
    StridedSlice {
        begin_mask: i32,
        end_mask: i32,
        ellipsis_mask: i32,
        new_axis_mask: i32,
        shrink_axis_mask: i32,
    },
    /// `SplitVOptions`.
    SplitV { num_splits: i32 },
    /// `CallOnceOptions`.
    CallOnce { init_subgraph_index: i32 },
    /// `VarHandleOptions`.
    VarHandle {
        container: String,
        shared_name: String,
    },
}

/// One operator node.
#[derive(Clone, Debug, PartialEq)]
pub struct OperatorDesc {
    /// Index into [`ModelDesc::operator_codes`].
    pub opcode_index: u32,
    /// Input tensor indices (-1 = optional input left out).
    pub inputs: Vec<i32>,
    /// Output tensor indices.
    pub outputs: Vec<i32>,
    /// Builtin options.
    pub options: Options,
}

/// One graph.
#[derive(Clone, Debug, PartialEq)]
pub struct SubGraphDesc {
    /// Name (`main`, or e.g. `NoOp` for an initialization graph run by CALL_ONCE).
    pub name: String,
    /// Tensors.
    pub tensors: Vec<TensorDesc>,
    /// Input tensor indices.
    pub inputs: Vec<i32>,
    /// Output tensor indices.
    pub outputs: Vec<i32>,
    /// Operators in execution order.
    pub operators: Vec<OperatorDesc>,
}

/// An operator kind: builtin code and operator version.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OpCode {
    /// `BuiltinOperator` code (e.g. 3 = CONV_2D).
    pub builtin_code: i32,
    /// Operator version (the kernel variant the runtime must provide).
    pub version: i32,
}

/// A whole model.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelDesc {
    /// Free text stored in the file.
    pub description: String,
    /// Operator kinds.
    pub operator_codes: Vec<OpCode>,
    /// Graphs; the first is the one that runs.
    pub subgraphs: Vec<SubGraphDesc>,
    /// Constant data; buffer 0 must be empty (the schema's convention).
    pub buffers: Vec<Vec<u8>>,
}

/// Errors of [`write`]: a description that cannot form a valid file.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteError {
    /// Buffer 0 holds data.
    FirstBufferNotEmpty,
    /// A tensor, operator or buffer reference out of range (what, where).
    BadReference(String),
}

impl core::fmt::Display for WriteError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            WriteError::FirstBufferNotEmpty => write!(f, "buffer 0 must be empty"),
            WriteError::BadReference(m) => write!(f, "bad reference: {m}"),
        }
    }
}

impl core::error::Error for WriteError {}

/// A byte pushed with 16-byte vector alignment (constant data, as the converter aligns it).
#[derive(Clone, Copy)]
struct Byte16(u8);

impl Push for Byte16 {
    type Output = u8;
    unsafe fn push(&self, dst: &mut [u8], _written_len: usize) {
        dst[0] = self.0;
    }
    fn size() -> usize {
        1
    }
    fn alignment() -> PushAlignment {
        PushAlignment::new(16)
    }
}

fn slot(id: u16) -> u16 {
    4 + 2 * id
}

fn check(m: &ModelDesc) -> Result<(), WriteError> {
    if m.buffers.first().is_some_and(|b| !b.is_empty()) {
        return Err(WriteError::FirstBufferNotEmpty);
    }
    let bad = |s: String| Err(WriteError::BadReference(s));
    for (g, sg) in m.subgraphs.iter().enumerate() {
        let nt = sg.tensors.len() as i32;
        for (i, t) in sg.tensors.iter().enumerate() {
            if t.buffer as usize >= m.buffers.len().max(1) {
                return bad(alloc::format!(
                    "subgraph {g} tensor {i} buffer {}",
                    t.buffer
                ));
            }
        }
        let tensor_ok = |&i: &i32| i == -1 || (0..nt).contains(&i);
        if !sg
            .inputs
            .iter()
            .chain(&sg.outputs)
            .all(|i| (0..nt).contains(i))
        {
            return bad(alloc::format!("subgraph {g} inputs/outputs"));
        }
        for (o, op) in sg.operators.iter().enumerate() {
            if op.opcode_index as usize >= m.operator_codes.len()
                || !op.inputs.iter().chain(&op.outputs).all(tensor_ok)
            {
                return bad(alloc::format!("subgraph {g} operator {o}"));
            }
            if let Options::CallOnce {
                init_subgraph_index,
            } = op.options
            {
                if !(0..m.subgraphs.len() as i32).contains(&init_subgraph_index) {
                    return bad(alloc::format!("subgraph {g} operator {o} init subgraph"));
                }
            }
        }
    }
    Ok(())
}

/// Serializes `model` as a TFLite flatbuffer (file identifier `TFL3`, schema version 3).
pub fn write(model: &ModelDesc) -> Result<Vec<u8>, WriteError> {
    check(model)?;
    let mut b = FlatBufferBuilder::with_capacity(64 * 1024);

    // Buffers (buffer 0 empty, the others inline and 16-byte aligned).
    let mut buffers = Vec::with_capacity(model.buffers.len().max(1));
    let empty: Vec<u8> = Vec::new();
    let all: Vec<&Vec<u8>> = if model.buffers.is_empty() {
        alloc::vec![&empty]
    } else {
        model.buffers.iter().collect()
    };
    for data in all {
        let d = if data.is_empty() {
            None
        } else {
            let bytes: Vec<Byte16> = data.iter().map(|&x| Byte16(x)).collect();
            Some(b.create_vector(&bytes))
        };
        let t = b.start_table();
        if let Some(d) = d {
            b.push_slot_always(slot(0), d);
        }
        buffers.push(b.end_table(t));
    }
    let buffers = b.create_vector(&buffers);

    // Operator codes.
    let mut codes = Vec::new();
    for c in &model.operator_codes {
        let t = b.start_table();
        b.push_slot_always::<i32>(slot(3), c.builtin_code);
        b.push_slot_always::<i32>(slot(2), c.version);
        b.push_slot_always::<i8>(slot(0), c.builtin_code.min(127) as i8);
        codes.push(b.end_table(t));
    }
    let codes = b.create_vector(&codes);

    let mut subgraphs = Vec::new();
    for sg in &model.subgraphs {
        let mut tensors = Vec::new();
        for t in &sg.tensors {
            let shape = b.create_vector(&t.shape);
            let name = b.create_string(&t.name);
            let quant = t.quant.as_ref().map(|q| {
                let s = b.create_vector(&q.scale);
                let z = b.create_vector(&q.zero_point);
                let qt = b.start_table();
                b.push_slot_always(slot(2), s);
                b.push_slot_always(slot(3), z);
                b.push_slot_always::<i32>(slot(6), q.quantized_dimension);
                b.end_table(qt)
            });
            let quant = quant.unwrap_or_else(|| {
                let qt = b.start_table();
                b.end_table(qt)
            });
            let tt = b.start_table();
            b.push_slot_always(slot(0), shape);
            b.push_slot_always::<i8>(slot(1), t.dtype);
            b.push_slot_always::<u32>(slot(2), t.buffer);
            b.push_slot_always(slot(3), name);
            b.push_slot_always(slot(4), quant);
            tensors.push(b.end_table(tt));
        }
        let tensors = b.create_vector(&tensors);
        let mut ops = Vec::new();
        for op in &sg.operators {
            let (tag, opts) = options(&mut b, &op.options);
            let inputs = b.create_vector(&op.inputs);
            let outputs = b.create_vector(&op.outputs);
            let ot = b.start_table();
            b.push_slot_always::<u32>(slot(0), op.opcode_index);
            b.push_slot_always(slot(1), inputs);
            b.push_slot_always(slot(2), outputs);
            if let Some(o) = opts {
                b.push_slot_always::<u8>(slot(3), tag);
                b.push_slot_always(slot(4), o);
            }
            ops.push(b.end_table(ot));
        }
        let ops = b.create_vector(&ops);
        let inputs = b.create_vector(&sg.inputs);
        let outputs = b.create_vector(&sg.outputs);
        let name = b.create_string(&sg.name);
        let st = b.start_table();
        b.push_slot_always(slot(0), tensors);
        b.push_slot_always(slot(1), inputs);
        b.push_slot_always(slot(2), outputs);
        b.push_slot_always(slot(3), ops);
        b.push_slot_always(slot(4), name);
        subgraphs.push(b.end_table(st));
    }
    let subgraphs = b.create_vector(&subgraphs);
    let description = b.create_string(&model.description);
    let mt = b.start_table();
    b.push_slot_always::<u32>(slot(0), 3);
    b.push_slot_always(slot(1), codes);
    b.push_slot_always(slot(2), subgraphs);
    b.push_slot_always(slot(3), description);
    b.push_slot_always(slot(4), buffers);
    let root = b.end_table(mt);
    b.finish(root, Some("TFL3"));
    Ok(b.finished_data().to_vec())
}

/// The options table of `o` and its union tag (None for operators without options).
fn options(
    b: &mut FlatBufferBuilder,
    o: &Options,
) -> (u8, Option<WIPOffset<flatbuffers::UnionWIPOffset>>) {
    use super::schema::options_type as tag;
    let (t, off) = match o {
        Options::None => return (0, None),
        Options::Conv2D {
            padding,
            stride_w,
            stride_h,
            activation,
            dilation_w,
            dilation_h,
        } => {
            let s = b.start_table();
            b.push_slot_always::<i8>(slot(0), *padding);
            b.push_slot_always::<i32>(slot(1), *stride_w);
            b.push_slot_always::<i32>(slot(2), *stride_h);
            b.push_slot_always::<i8>(slot(3), *activation);
            b.push_slot_always::<i32>(slot(4), *dilation_w);
            b.push_slot_always::<i32>(slot(5), *dilation_h);
            (tag::CONV_2D, b.end_table(s))
        }
        Options::DepthwiseConv2D {
            padding,
            stride_w,
            stride_h,
            depth_multiplier,
            activation,
            dilation_w,
            dilation_h,
        } => {
            let s = b.start_table();
            b.push_slot_always::<i8>(slot(0), *padding);
            b.push_slot_always::<i32>(slot(1), *stride_w);
            b.push_slot_always::<i32>(slot(2), *stride_h);
            b.push_slot_always::<i32>(slot(3), *depth_multiplier);
            b.push_slot_always::<i8>(slot(4), *activation);
            b.push_slot_always::<i32>(slot(5), *dilation_w);
            b.push_slot_always::<i32>(slot(6), *dilation_h);
            (tag::DEPTHWISE_CONV_2D, b.end_table(s))
        }
        Options::FullyConnected {
            activation,
            keep_num_dims,
        } => {
            let s = b.start_table();
            b.push_slot_always::<i8>(slot(0), *activation);
            b.push_slot_always::<i8>(slot(1), 0);
            b.push_slot_always::<bool>(slot(2), *keep_num_dims);
            (tag::FULLY_CONNECTED, b.end_table(s))
        }
        Options::Concatenation { axis, activation } => {
            let s = b.start_table();
            b.push_slot_always::<i32>(slot(0), *axis);
            b.push_slot_always::<i8>(slot(1), *activation);
            (tag::CONCATENATION, b.end_table(s))
        }
        Options::Add { activation } => {
            let s = b.start_table();
            b.push_slot_always::<i8>(slot(0), *activation);
            (tag::ADD, b.end_table(s))
        }
        Options::Mul { activation } => {
            let s = b.start_table();
            b.push_slot_always::<i8>(slot(0), *activation);
            (tag::MUL, b.end_table(s))
        }
        Options::Reshape { new_shape } => {
            let v = new_shape.as_ref().map(|n| b.create_vector(n));
            let s = b.start_table();
            if let Some(v) = v {
                b.push_slot_always(slot(0), v);
            }
            (tag::RESHAPE, b.end_table(s))
        }
        Options::StridedSlice {
            begin_mask,
            end_mask,
            ellipsis_mask,
            new_axis_mask,
            shrink_axis_mask,
        } => {
            let s = b.start_table();
            b.push_slot_always::<i32>(slot(0), *begin_mask);
            b.push_slot_always::<i32>(slot(1), *end_mask);
            b.push_slot_always::<i32>(slot(2), *ellipsis_mask);
            b.push_slot_always::<i32>(slot(3), *new_axis_mask);
            b.push_slot_always::<i32>(slot(4), *shrink_axis_mask);
            b.push_slot_always::<bool>(slot(5), false);
            (tag::STRIDED_SLICE, b.end_table(s))
        }
        Options::SplitV { num_splits } => {
            let s = b.start_table();
            b.push_slot_always::<i32>(slot(0), *num_splits);
            (tag::SPLIT_V, b.end_table(s))
        }
        Options::CallOnce {
            init_subgraph_index,
        } => {
            let s = b.start_table();
            b.push_slot_always::<i32>(slot(0), *init_subgraph_index);
            (tag::CALL_ONCE, b.end_table(s))
        }
        Options::VarHandle {
            container,
            shared_name,
        } => {
            let c = b.create_string(container);
            let n = b.create_string(shared_name);
            let s = b.start_table();
            b.push_slot_always(slot(0), c);
            b.push_slot_always(slot(1), n);
            (tag::VAR_HANDLE, b.end_table(s))
        }
    };
    (t, Some(off.as_union_value()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tflite::{Interpreter, Model};
    use alloc::vec;

    fn t(name: &str, shape: &[i32], dtype: i8, buffer: u32) -> TensorDesc {
        let quant = (dtype == tensor_type::INT8).then(|| Quant {
            scale: vec![0.5],
            zero_point: vec![-3],
            quantized_dimension: 0,
        });
        TensorDesc {
            name: name.into(),
            shape: shape.to_vec(),
            dtype,
            buffer,
            quant,
        }
    }

    /// A streaming ring buffer as the zoo models keep one: CALL_ONCE fills the variable with
    /// a constant, then READ_VARIABLE -> CONCATENATION(state, input) -> output, and
    /// STRIDED_SLICE of the newest rows -> ASSIGN_VARIABLE.
    fn ring_model() -> ModelDesc {
        let var = || Options::VarHandle {
            container: "".into(),
            shared_name: "ring".into(),
        };
        let i32s = |v: &[i32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        ModelDesc {
            description: "ring".into(),
            operator_codes: [129, 142, 143, 2, 45, 144]
                .iter()
                .map(|&c| OpCode {
                    builtin_code: c,
                    version: 1,
                })
                .collect(),
            buffers: vec![
                vec![],
                vec![7u8; 4], // init state: two rows of 2 x int8 7
                i32s(&[0, 1, 0]),
                i32s(&[1, 3, 2]),
                i32s(&[1, 1, 1]),
            ],
            subgraphs: vec![
                SubGraphDesc {
                    name: "main".into(),
                    tensors: vec![
                        t("in", &[1, 1, 2], tensor_type::INT8, 0),
                        t("h", &[], tensor_type::RESOURCE, 0),
                        t("state", &[1, 2, 2], tensor_type::INT8, 0),
                        t("cat", &[1, 3, 2], tensor_type::INT8, 0),
                        t("begin", &[3], tensor_type::INT32, 2),
                        t("end", &[3], tensor_type::INT32, 3),
                        t("strides", &[3], tensor_type::INT32, 4),
                        t("next", &[1, 2, 2], tensor_type::INT8, 0),
                    ],
                    inputs: vec![0],
                    outputs: vec![3],
                    operators: vec![
                        OperatorDesc {
                            opcode_index: 0,
                            inputs: vec![],
                            outputs: vec![],
                            options: Options::CallOnce {
                                init_subgraph_index: 1,
                            },
                        },
                        OperatorDesc {
                            opcode_index: 1,
                            inputs: vec![],
                            outputs: vec![1],
                            options: var(),
                        },
                        OperatorDesc {
                            opcode_index: 2,
                            inputs: vec![1],
                            outputs: vec![2],
                            options: Options::None,
                        },
                        OperatorDesc {
                            opcode_index: 3,
                            inputs: vec![2, 0],
                            outputs: vec![3],
                            options: Options::Concatenation {
                                axis: 1,
                                activation: 0,
                            },
                        },
                        OperatorDesc {
                            opcode_index: 4,
                            inputs: vec![3, 4, 5, 6],
                            outputs: vec![7],
                            options: Options::StridedSlice {
                                begin_mask: 5,
                                end_mask: 7,
                                ellipsis_mask: 0,
                                new_axis_mask: 0,
                                shrink_axis_mask: 0,
                            },
                        },
                        OperatorDesc {
                            opcode_index: 5,
                            inputs: vec![1, 7],
                            outputs: vec![],
                            options: Options::None,
                        },
                    ],
                },
                SubGraphDesc {
                    name: "NoOp".into(),
                    tensors: vec![
                        t("h", &[], tensor_type::RESOURCE, 0),
                        t("zeros", &[1, 2, 2], tensor_type::INT8, 1),
                    ],
                    inputs: vec![],
                    outputs: vec![],
                    operators: vec![
                        OperatorDesc {
                            opcode_index: 1,
                            inputs: vec![],
                            outputs: vec![0],
                            options: var(),
                        },
                        OperatorDesc {
                            opcode_index: 5,
                            inputs: vec![0, 1],
                            outputs: vec![],
                            options: Options::None,
                        },
                    ],
                },
            ],
        }
    }

    #[test]
    fn written_ring_buffer_model_loads_and_streams() {
        let bytes = write(&ring_model()).unwrap();
        assert!(crate::tflite::schema::has_identifier(&bytes));
        let model = Model::from_bytes(&bytes[..]).unwrap();
        let mut arena = vec![0u8; model.arena_bytes()];
        let mut s = Interpreter::new(&model, &mut arena).unwrap();
        let mut outs = Vec::new();
        for step in 0..3i8 {
            s.input_i8_mut(0)
                .unwrap()
                .copy_from_slice(&[10 * step, 10 * step + 1]);
            s.invoke();
            outs.push(s.output(0).unwrap().to_vec());
        }
        let b = |v: &[i8]| v.iter().map(|&x| x as u8).collect::<Vec<u8>>();
        assert_eq!(outs[0], b(&[7, 7, 7, 7, 0, 1]));
        assert_eq!(outs[1], b(&[7, 7, 0, 1, 10, 11]));
        assert_eq!(outs[2], b(&[0, 1, 10, 11, 20, 21]));
    }

    #[test]
    fn constant_buffers_are_16_byte_aligned() {
        let bytes = write(&ring_model()).unwrap();
        let m = crate::tflite::schema::root(&bytes).unwrap();
        for buf in m.buffers().unwrap().iter() {
            if let Some(d) = buf.data() {
                let off = d.bytes().as_ptr() as usize - bytes.as_ptr() as usize;
                assert_eq!(off % 16, 0);
            }
        }
    }

    #[test]
    fn bad_references_are_refused() {
        let mut m = ring_model();
        m.subgraphs[0].operators[3].inputs[0] = 99;
        assert!(matches!(write(&m), Err(WriteError::BadReference(_))));
        let mut m = ring_model();
        m.buffers[0] = vec![1];
        assert_eq!(write(&m), Err(WriteError::FirstBufferNotEmpty));
    }
}
