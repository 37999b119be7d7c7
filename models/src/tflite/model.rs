//! Loading: a verified flatbuffer is validated op by op and compiled into [`Model`], an
//! immutable, self-contained graph (no reference to the file bytes remains).

use super::fixedpoint::{quantize_multiplier, Rounding};
use super::ops::{
    activation_range, slice_axis, Binary, BinaryKind, Conv, Copy2D, DepthwiseConv, FullyConnected,
    Gather, Geometry, Lut, Op, Requant, Requantize, ScratchNeed, Src,
};
use super::schema::{self, OperatorCode};
use super::TfliteError;
use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

/// Largest tensor or arena sotto accepts (bytes); far above any streaming model.
const MAX_BYTES: usize = 1 << 28;

/// Builtin operator codes sotto implements.
mod code {
    pub const ADD: i32 = 0;
    pub const CONCATENATION: i32 = 2;
    pub const CONV_2D: i32 = 3;
    pub const DEPTHWISE_CONV_2D: i32 = 4;
    pub const FULLY_CONNECTED: i32 = 9;
    pub const LOGISTIC: i32 = 14;
    pub const MUL: i32 = 18;
    pub const RESHAPE: i32 = 22;
    pub const STRIDED_SLICE: i32 = 45;
    pub const SPLIT_V: i32 = 102;
    pub const QUANTIZE: i32 = 114;
    pub const CALL_ONCE: i32 = 129;
    pub const VAR_HANDLE: i32 = 142;
    pub const READ_VARIABLE: i32 = 143;
    pub const ASSIGN_VARIABLE: i32 = 144;
    pub const SUPPORTED: [i32; 15] = [
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
}

/// Schema name of a builtin operator code (for messages).
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
        _ => return format!("BUILTIN_{code}"),
    };
    name.to_string()
}

/// Element type of a tensor (`TensorType` in the schema).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DType {
    /// float32.
    F32,
    /// int32.
    I32,
    /// uint8.
    U8,
    /// int8.
    I8,
    /// int16.
    I16,
    /// int64.
    I64,
    /// bool (one byte).
    Bool,
    /// A resource handle (variables).
    Resource,
    /// Any other schema type, by number.
    Other(i8),
}

impl DType {
    fn from_schema(t: i8) -> Self {
        match t {
            0 => DType::F32,
            2 => DType::I32,
            3 => DType::U8,
            9 => DType::I8,
            7 => DType::I16,
            4 => DType::I64,
            6 => DType::Bool,
            13 => DType::Resource,
            t => DType::Other(t),
        }
    }

    /// Bytes per element, for the types that can hold data.
    pub fn size(self) -> Option<usize> {
        match self {
            DType::U8 | DType::I8 | DType::Bool => Some(1),
            DType::I16 => Some(2),
            DType::F32 | DType::I32 => Some(4),
            DType::I64 => Some(8),
            DType::Resource | DType::Other(_) => None,
        }
    }
}

/// Public description of a graph input or output.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorInfo {
    /// Tensor name in the file.
    pub name: String,
    /// Shape.
    pub shape: Vec<usize>,
    /// Element type.
    pub dtype: DType,
    /// Quantization scale (0 when unquantized).
    pub scale: f32,
    /// Quantization zero point.
    pub zero_point: i32,
}

impl TensorInfo {
    /// Number of elements.
    pub fn elements(&self) -> usize {
        self.shape.iter().product()
    }
}

/// Graph inputs or outputs with their arena ranges.
type GraphIo = Vec<(TensorInfo, Range<usize>)>;

/// A compiled subgraph.
#[derive(Debug, Default)]
pub(crate) struct Graph {
    pub(crate) ops: Vec<Op>,
}

/// An immutable, validated TFLite model: compiled operators, constant data and the memory plan.
/// Share it between streams with `Arc`; per-stream state lives in [`super::Interpreter`].
#[derive(Debug)]
pub struct Model {
    pub(crate) graphs: Vec<Graph>,
    pub(crate) consts: Vec<u8>,
    pub(crate) arena_size: usize,
    pub(crate) vars_size: usize,
    pub(crate) num_once: usize,
    pub(crate) scratch: ScratchNeed,
    pub(crate) inputs: GraphIo,
    pub(crate) outputs: GraphIo,
    op_names: Vec<String>,
}

impl Model {
    /// Reads and loads a `.tflite` file; errors name the file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, TfliteError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| TfliteError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::from_bytes(&bytes).map_err(|e| TfliteError::InFile {
            path: path.to_owned(),
            source: Box::new(e),
        })
    }

    /// Loads a model from the bytes of a `.tflite` file. Any corrupt or unsupported content is an
    /// error (all unsupported operators are listed in one [`TfliteError::Unsupported`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TfliteError> {
        if !schema::has_identifier(bytes) {
            return Err(TfliteError::NotTflite);
        }
        let fb = schema::root(bytes)?;
        Loader::new(bytes, fb)?.run()
    }

    /// Inputs of the main graph.
    pub fn inputs(&self) -> impl ExactSizeIterator<Item = &TensorInfo> {
        self.inputs.iter().map(|(t, _)| t)
    }

    /// Outputs of the main graph.
    pub fn outputs(&self) -> impl ExactSizeIterator<Item = &TensorInfo> {
        self.outputs.iter().map(|(t, _)| t)
    }

    /// Bytes of per-stream memory: the tensor arena, resource variables and scratch.
    pub fn arena_size(&self) -> usize {
        self.arena_size + self.vars_size + self.scratch.acc * 4 + self.scratch.patch
    }

    /// Bytes of constant data (weights, biases, constant tensors) held by the model.
    pub fn constant_size(&self) -> usize {
        let weights: usize = self
            .graphs
            .iter()
            .flat_map(|g| &g.ops)
            .map(|op| match op {
                Op::Conv(c) => c.weights.len() + 12 * c.rq.bias.len(),
                Op::Depthwise(c) => c.weights.len() + 12 * c.rq.bias.len(),
                Op::FullyConnected(c) => c.weights.len() + 12 * c.bias.len(),
                _ => 0,
            })
            .sum();
        weights + self.consts.len()
    }

    /// Distinct operator names the model uses, in first-use order.
    pub fn op_names(&self) -> &[String] {
        &self.op_names
    }
}

/// A parsed tensor description.
struct T<'a> {
    name: String,
    shape: Vec<usize>,
    elems: usize,
    dtype: DType,
    scales: Vec<f32>,
    zps: Vec<i64>,
    data: Option<&'a [u8]>,
}

impl T<'_> {
    fn bytes(&self) -> Result<usize, TfliteError> {
        let size = self
            .dtype
            .size()
            .ok_or_else(|| self.err(format!("has no data type size ({:?})", self.dtype)))?;
        Ok(self.elems * size)
    }

    fn err(&self, msg: impl std::fmt::Display) -> TfliteError {
        TfliteError::Invalid(format!("tensor '{}': {msg}", self.name))
    }

    /// Per-tensor scale and zero point of a quantized tensor.
    fn quant(&self) -> Result<(f32, i32), TfliteError> {
        let (Some(&s), Some(&z)) = (self.scales.first(), self.zps.first()) else {
            return Err(self.err("is not quantized"));
        };
        if !(s.is_finite() && s > 0.0) {
            return Err(self.err(format!("invalid scale {s}")));
        }
        let range = match self.dtype {
            DType::I8 => -128..=127,
            DType::U8 => 0..=255,
            _ => i64::from(i32::MIN)..=i64::from(i32::MAX),
        };
        if !range.contains(&z) {
            return Err(self.err(format!("zero point {z} out of range")));
        }
        Ok((s, z as i32))
    }

    fn expect(&self, dtype: DType) -> Result<&Self, TfliteError> {
        if self.dtype != dtype {
            return Err(self.err(format!("has type {:?}, expected {dtype:?}", self.dtype)));
        }
        Ok(self)
    }

    fn expect_rank(&self, rank: usize) -> Result<&Self, TfliteError> {
        if self.shape.len() != rank {
            return Err(self.err(format!("has shape {:?}, expected rank {rank}", self.shape)));
        }
        Ok(self)
    }

    fn const_data(&self) -> Result<&[u8], TfliteError> {
        self.data.ok_or_else(|| self.err("must be constant"))
    }

    fn const_i8(&self) -> Result<Vec<i8>, TfliteError> {
        self.expect(DType::I8)?;
        Ok(self.const_data()?.iter().map(|&b| b as i8).collect())
    }

    fn const_i32(&self) -> Result<Vec<i32>, TfliteError> {
        self.expect(DType::I32)?;
        Ok(self
            .const_data()?
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }

    /// Per-channel filter scales (`channels` entries, or one broadcast); zero points must be 0.
    fn channel_scales(&self, channels: usize) -> Result<Vec<f32>, TfliteError> {
        let s = &self.scales;
        if !(s.len() == 1 || s.len() == channels) {
            return Err(self.err(format!("has {} scales for {channels} channels", s.len())));
        }
        if s.iter().any(|s| !(s.is_finite() && *s > 0.0)) || self.zps.iter().any(|&z| z != 0) {
            return Err(self.err("needs positive scales and zero points of 0"));
        }
        Ok((0..channels).map(|c| s[c.min(s.len() - 1)]).collect())
    }
}

/// Where a tensor's value lives during compilation.
#[derive(Clone, Debug)]
enum Loc {
    Arena(Range<usize>),
    Var(usize),
}

struct Loader<'a> {
    file: &'a [u8],
    fb: schema::Model<'a>,
    codes: Vec<i32>,
    consts: Vec<u8>,
    arena: usize,
    var_ids: HashMap<(String, String), usize>,
    var_len: Vec<Option<usize>>,
    var_ranges: Vec<Range<usize>>,
    num_once: usize,
    scratch: ScratchNeed,
    op_names: Vec<String>,
}

fn bad(msg: impl Into<String>) -> TfliteError {
    TfliteError::Invalid(msg.into())
}

impl<'a> Loader<'a> {
    fn new(file: &'a [u8], fb: schema::Model<'a>) -> Result<Self, TfliteError> {
        let codes = fb
            .operator_codes()
            .ok_or_else(|| bad("no operator codes"))?
            .iter()
            .map(|c: OperatorCode| {
                i32::from(c.deprecated_builtin_code().unwrap_or(0))
                    .max(c.builtin_code().unwrap_or(0))
            })
            .collect();
        Ok(Loader {
            file,
            fb,
            codes,
            consts: Vec::new(),
            arena: 0,
            var_ids: HashMap::new(),
            var_len: Vec::new(),
            var_ranges: Vec::new(),
            num_once: 0,
            scratch: ScratchNeed::default(),
            op_names: Vec::new(),
        })
    }

    fn subgraph(&self, i: usize) -> Result<schema::SubGraph<'a>, TfliteError> {
        let sgs = self.fb.subgraphs().ok_or_else(|| bad("no subgraphs"))?;
        if i >= sgs.len() {
            return Err(bad(format!("subgraph {i} does not exist")));
        }
        Ok(sgs.get(i))
    }

    fn op_code(&self, op: &schema::Operator) -> Result<i32, TfliteError> {
        let i = op.opcode_index().unwrap_or(0) as usize;
        self.codes
            .get(i)
            .copied()
            .ok_or_else(|| bad(format!("operator code index {i} out of range")))
    }

    fn run(mut self) -> Result<Model, TfliteError> {
        // Subgraphs reachable from main through CALL_ONCE, and every unsupported op among them.
        let mut reach = vec![0usize];
        let mut unsupported = Vec::new();
        let mut k = 0;
        while k < reach.len() {
            let sg = self.subgraph(reach[k])?;
            for op in sg.operators().iter().flat_map(|v| v.iter()) {
                let code = self.op_code(&op)?;
                if !code::SUPPORTED.contains(&code) {
                    let name = op_name(code);
                    if !unsupported.contains(&name) {
                        unsupported.push(name);
                    }
                } else if code == code::CALL_ONCE {
                    let target = op
                        .options::<schema::CallOnceOptions>()
                        .and_then(|o| o.init_subgraph_index())
                        .ok_or_else(|| bad("CALL_ONCE without init_subgraph_index"))?;
                    let target =
                        usize::try_from(target).map_err(|_| bad("negative CALL_ONCE subgraph"))?;
                    self.subgraph(target)?;
                    if k > 0 || target == 0 {
                        return Err(bad("nested or recursive CALL_ONCE is not supported"));
                    }
                    if !reach.contains(&target) {
                        reach.push(target);
                    }
                }
            }
            k += 1;
        }
        if !unsupported.is_empty() {
            return Err(TfliteError::Unsupported(unsupported));
        }
        // Resource variables: ids by (container, shared_name), sizes from their assignments.
        for &g in &reach {
            self.scan_variables(g)?;
        }
        let mut vars_size = 0;
        for (id, len) in self.var_len.iter().enumerate() {
            let len =
                len.ok_or_else(|| bad(format!("resource variable {id} is never assigned")))?;
            self.var_ranges.push(vars_size..vars_size + len);
            vars_size += len;
        }
        let nsub = self.fb.subgraphs().map_or(0, |v| v.len());
        let mut graphs: Vec<Graph> = (0..nsub).map(|_| Graph::default()).collect();
        let mut io = None;
        for &g in &reach {
            let (graph, ios) = self.compile(g)?;
            graphs[g] = graph;
            if g == 0 {
                io = Some(ios);
            }
        }
        let (inputs, outputs) = io.expect("main graph compiled");
        Ok(Model {
            graphs,
            consts: self.consts,
            arena_size: self.arena,
            vars_size,
            num_once: self.num_once,
            scratch: self.scratch,
            inputs,
            outputs,
            op_names: self.op_names,
        })
    }

    fn tensors(&self, sg: &schema::SubGraph<'a>) -> Result<Vec<T<'a>>, TfliteError> {
        let buffers = self.fb.buffers();
        let Some(ts) = sg.tensors() else {
            return Ok(Vec::new());
        };
        ts.iter()
            .enumerate()
            .map(|(i, t)| {
                let name = t
                    .name()
                    .map_or_else(|| format!("#{i}"), |n| format!("#{i} {n}"));
                let mut shape = Vec::new();
                let mut elems = 1usize;
                for d in t.shape().iter().flat_map(|v| v.iter()) {
                    let d = usize::try_from(d).map_err(|_| {
                        bad(format!(
                            "tensor '{name}': negative or dynamic dimension {d}"
                        ))
                    })?;
                    elems = elems
                        .checked_mul(d)
                        .filter(|&e| e <= MAX_BYTES)
                        .ok_or_else(|| bad(format!("tensor '{name}' is too large")))?;
                    shape.push(d);
                }
                let q = t.quantization();
                let scales = q
                    .and_then(|q| q.scale())
                    .map(|v| v.iter().collect())
                    .unwrap_or_default();
                let zps = q
                    .and_then(|q| q.zero_point())
                    .map(|v| v.iter().collect())
                    .unwrap_or_default();
                let dtype = DType::from_schema(t.tensor_type().unwrap_or(0));
                let b = t.buffer().unwrap_or(0) as usize;
                let data = if b == 0 {
                    None
                } else {
                    let bufs = buffers
                        .as_ref()
                        .ok_or_else(|| bad("model has no buffers"))?;
                    if b >= bufs.len() {
                        return Err(bad(format!("tensor '{name}': buffer {b} out of range")));
                    }
                    let buf = bufs.get(b);
                    let bytes = match (
                        buf.data(),
                        buf.offset().unwrap_or(0),
                        buf.size().unwrap_or(0),
                    ) {
                        (Some(d), _, _) if !d.is_empty() => Some(d.bytes()),
                        (_, off, size) if off > 1 && size > 0 => {
                            let r = usize::try_from(off)
                                .ok()
                                .zip(usize::try_from(size).ok())
                                .and_then(|(o, s)| {
                                    let end = o.checked_add(s)?;
                                    self.file.get(o..end)
                                });
                            Some(r.ok_or_else(|| {
                                bad(format!("tensor '{name}': external buffer {b} out of file"))
                            })?)
                        }
                        _ => None,
                    };
                    bytes
                };
                let t = T {
                    name,
                    shape,
                    elems,
                    dtype,
                    scales,
                    zps,
                    data,
                };
                if let Some(d) = t.data {
                    if d.len() != t.bytes()? {
                        return Err(t.err(format!(
                            "holds {} bytes, shape {:?} needs {}",
                            d.len(),
                            t.shape,
                            t.bytes()?
                        )));
                    }
                }
                Ok(t)
            })
            .collect()
    }

    fn scan_variables(&mut self, g: usize) -> Result<(), TfliteError> {
        let sg = self.subgraph(g)?;
        let tensors = self.tensors(&sg)?;
        let mut handle: HashMap<usize, usize> = HashMap::new();
        for op in sg.operators().iter().flat_map(|v| v.iter()) {
            let code = self.op_code(&op)?;
            let ins = tensor_indices(op.inputs(), tensors.len())?;
            let outs = tensor_indices(op.outputs(), tensors.len())?;
            if code == code::VAR_HANDLE {
                let o = op
                    .options::<schema::VarHandleOptions>()
                    .ok_or_else(|| bad("VAR_HANDLE without options"))?;
                let key = (
                    o.container().unwrap_or("").to_string(),
                    o.shared_name().unwrap_or("").to_string(),
                );
                let next = self.var_ids.len();
                let id = *self.var_ids.entry(key).or_insert(next);
                if id == self.var_len.len() {
                    self.var_len.push(None);
                }
                let &[Some(out)] = outs.as_slice() else {
                    return Err(bad("VAR_HANDLE needs one output"));
                };
                handle.insert(out, id);
            } else if code == code::ASSIGN_VARIABLE {
                let &[Some(h), Some(v)] = ins.as_slice() else {
                    return Err(bad("ASSIGN_VARIABLE needs two inputs"));
                };
                let id = *handle
                    .get(&h)
                    .ok_or_else(|| tensors[h].err("is not a VAR_HANDLE output"))?;
                let len = tensors[v].bytes()?;
                match self.var_len[id] {
                    Some(l) if l != len => {
                        return Err(tensors[v].err("assigns a variable of another size"))
                    }
                    _ => self.var_len[id] = Some(len),
                }
            }
        }
        Ok(())
    }

    fn compile(&mut self, g: usize) -> Result<(Graph, (GraphIo, GraphIo)), TfliteError> {
        let sg = self.subgraph(g)?;
        let ts = self.tensors(&sg)?;
        // Liveness: the last op reading each tensor; graph inputs and outputs stay pinned.
        let mut last_use = vec![None; ts.len()];
        let mut pinned = vec![false; ts.len()];
        for (k, op) in sg.operators().iter().flat_map(|v| v.iter()).enumerate() {
            for i in tensor_indices(op.inputs(), ts.len())?.into_iter().flatten() {
                last_use[i] = Some(k);
            }
        }
        let graph_inputs = tensor_indices(sg.inputs(), ts.len())?;
        let graph_outputs = tensor_indices(sg.outputs(), ts.len())?;
        for i in graph_inputs.iter().chain(&graph_outputs).flatten() {
            pinned[*i] = true;
        }
        let base = self.arena;
        let mut c = GraphCompiler {
            l: self,
            ts: &ts,
            loc: vec![None; ts.len()],
            const_at: HashMap::new(),
            ops: Vec::new(),
            plan: Planner {
                base,
                free: Vec::new(),
                end: 0,
            },
        };
        let mut inputs = Vec::new();
        for i in graph_inputs {
            let i = i.ok_or_else(|| bad("graph input -1"))?;
            let r = c.output(i)?;
            inputs.push((info(&ts[i]), r));
        }
        for (k, op) in sg.operators().iter().flat_map(|v| v.iter()).enumerate() {
            c.op(&op).map_err(|e| match e {
                TfliteError::Invalid(m) => TfliteError::Invalid(format!(
                    "subgraph {g}, op #{} ({}): {m}",
                    c.ops.len(),
                    op_name(c.l.op_code(&op).unwrap_or(-1))
                )),
                e => e,
            })?;
            // Free what is dead after op k: last reads here, and outputs nobody reads.
            let outs = tensor_indices(op.outputs(), ts.len())?;
            for i in 0..ts.len() {
                let dead =
                    last_use[i] == Some(k) || (last_use[i].is_none() && outs.contains(&Some(i)));
                if let (true, false, Some(Loc::Arena(r))) = (dead, pinned[i], &c.loc[i]) {
                    c.plan.release(r.clone());
                }
            }
        }
        c.l.arena = c.plan.base + c.plan.end;
        let mut outputs = Vec::new();
        for i in graph_outputs {
            let i = i.ok_or_else(|| bad("graph output -1"))?;
            match &c.loc[i] {
                Some(Loc::Arena(r)) => outputs.push((info(&ts[i]), r.clone())),
                _ => return Err(ts[i].err("graph output is never computed")),
            }
        }
        // Defence in depth: every block copy stays inside its tensors.
        if c.ops
            .iter()
            .any(|op| matches!(op, Op::Copy(cp) if !cp.in_bounds()))
        {
            return Err(bad("copy out of bounds"));
        }
        let ops = c.ops;
        Ok((Graph { ops }, (inputs, outputs)))
    }
}

fn info(t: &T) -> TensorInfo {
    TensorInfo {
        name: t
            .name
            .split_once(' ')
            .map_or(t.name.clone(), |(_, n)| n.to_string()),
        shape: t.shape.clone(),
        dtype: t.dtype,
        scale: t.scales.first().copied().unwrap_or(0.0),
        zero_point: t.zps.first().map_or(0, |&z| z as i32),
    }
}

/// Tensor indices of an op or graph (-1 = absent optional input).
fn tensor_indices(
    v: Option<flatbuffers::Vector<'_, i32>>,
    n: usize,
) -> Result<Vec<Option<usize>>, TfliteError> {
    v.iter()
        .flat_map(|v| v.iter())
        .map(|i| match i {
            -1 => Ok(None),
            i if (0..n as i64).contains(&i64::from(i)) => Ok(Some(i as usize)),
            i => Err(bad(format!(
                "tensor index {i} out of range (subgraph has {n})"
            ))),
        })
        .collect()
}

/// First-fit allocator of one graph's tensors in the arena (offsets relative to `base`).
struct Planner {
    base: usize,
    /// Free holes below `end`, sorted and coalesced.
    free: Vec<Range<usize>>,
    end: usize,
}

impl Planner {
    fn alloc(&mut self, bytes: usize) -> Result<Range<usize>, TfliteError> {
        let start = match self.free.iter().position(|f| f.len() >= bytes) {
            Some(k) if bytes > 0 => {
                let start = self.free[k].start;
                self.free[k].start += bytes;
                if self.free[k].is_empty() {
                    self.free.remove(k);
                }
                start
            }
            _ => {
                let start = self.end;
                self.end = start
                    .checked_add(bytes)
                    .filter(|&e| self.base + e <= MAX_BYTES)
                    .ok_or_else(|| bad("arena too large"))?;
                start
            }
        };
        Ok(self.base + start..self.base + start + bytes)
    }

    fn release(&mut self, r: Range<usize>) {
        if r.is_empty() {
            return;
        }
        let r = r.start - self.base..r.end - self.base;
        let k = self.free.partition_point(|f| f.start < r.start);
        self.free.insert(k, r);
        // Coalesce with the neighbours.
        if k + 1 < self.free.len() && self.free[k].end == self.free[k + 1].start {
            self.free[k].end = self.free.remove(k + 1).end;
        }
        if k > 0 && self.free[k - 1].end == self.free[k].start {
            self.free[k - 1].end = self.free.remove(k).end;
        }
    }
}

struct GraphCompiler<'l, 'a, 't> {
    l: &'l mut Loader<'a>,
    ts: &'t [T<'a>],
    loc: Vec<Option<Loc>>,
    const_at: HashMap<usize, Range<usize>>,
    ops: Vec<Op>,
    plan: Planner,
}

impl GraphCompiler<'_, '_, '_> {
    /// Allocates the (single-assignment) output tensor `i`.
    fn output(&mut self, i: usize) -> Result<Range<usize>, TfliteError> {
        let t = &self.ts[i];
        if self.loc[i].is_some() || t.data.is_some() {
            return Err(t.err("is written twice or is constant"));
        }
        let r = self.plan.alloc(t.bytes()?)?;
        self.loc[i] = Some(Loc::Arena(r.clone()));
        Ok(r)
    }

    /// A data input: constant bytes (copied into the model once) or a computed tensor.
    fn src(&mut self, i: usize) -> Result<Src, TfliteError> {
        let t = &self.ts[i];
        if let Some(d) = t.data {
            let r = match self.const_at.get(&i) {
                Some(r) => r.clone(),
                None => {
                    let start = self.l.consts.len();
                    self.l.consts.extend_from_slice(d);
                    let r = start..self.l.consts.len();
                    self.const_at.insert(i, r.clone());
                    r
                }
            };
            return Ok(Src::Const(r));
        }
        match &self.loc[i] {
            Some(Loc::Arena(r)) => Ok(Src::Arena(r.clone())),
            _ => Err(t.err("is read before it is computed")),
        }
    }

    fn var(&self, i: usize) -> Result<Range<usize>, TfliteError> {
        match self.loc[i] {
            Some(Loc::Var(id)) => Ok(self.l.var_ranges[id].clone()),
            _ => Err(self.ts[i].err("is not a resource variable handle")),
        }
    }

    fn op(&mut self, op: &schema::Operator) -> Result<(), TfliteError> {
        let code = self.l.op_code(op)?;
        let name = op_name(code);
        if !self.l.op_names.contains(&name) {
            self.l.op_names.push(name);
        }
        let n = self.ts.len();
        let ins = tensor_indices(op.inputs(), n)?;
        let outs = tensor_indices(op.outputs(), n)?;
        let input = |k: usize| -> Result<usize, TfliteError> {
            ins.get(k)
                .copied()
                .flatten()
                .ok_or_else(|| bad(format!("missing input {k}")))
        };
        let output = |k: usize| -> Result<usize, TfliteError> {
            outs.get(k)
                .copied()
                .flatten()
                .ok_or_else(|| bad(format!("missing output {k}")))
        };
        let ts = self.ts;
        match code {
            code::CALL_ONCE => {
                let graph = op
                    .options::<schema::CallOnceOptions>()
                    .and_then(|o| o.init_subgraph_index())
                    .unwrap_or(0);
                let flag = self.l.num_once;
                self.l.num_once += 1;
                self.ops.push(Op::CallOnce {
                    graph: graph as usize,
                    flag,
                });
            }
            code::VAR_HANDLE => {
                let o = op
                    .options::<schema::VarHandleOptions>()
                    .ok_or_else(|| bad("no options"))?;
                let key = (
                    o.container().unwrap_or("").to_string(),
                    o.shared_name().unwrap_or("").to_string(),
                );
                let id = self.l.var_ids[&key];
                let out = output(0)?;
                if self.loc[out].is_some() {
                    return Err(ts[out].err("is written twice"));
                }
                self.loc[out] = Some(Loc::Var(id));
            }
            code::READ_VARIABLE => {
                let var = self.var(input(0)?)?;
                let out = output(0)?;
                let dst = self.output(out)?;
                if dst.len() != var.len() {
                    return Err(ts[out].err("reads a variable of another size"));
                }
                self.ops.push(Op::ReadVar { var, dst });
            }
            code::ASSIGN_VARIABLE => {
                let var = self.var(input(0)?)?;
                let src = self.src(input(1)?)?;
                self.ops.push(Op::AssignVar { src, var });
            }
            code::RESHAPE => {
                let (i, o) = (input(0)?, output(0)?);
                let (ti, to) = (&ts[i], &ts[o]);
                if ti.bytes()? != to.bytes()? || ti.dtype != to.dtype {
                    return Err(to.err(format!(
                        "cannot reshape {:?} {:?} to {:?}",
                        ti.dtype, ti.shape, to.shape
                    )));
                }
                let src = self.src(i)?;
                let dst = self.output(o)?;
                let chunk = dst.len();
                self.ops.push(Op::Copy(Copy2D {
                    src,
                    dst,
                    outer: 1,
                    chunk,
                    src_stride: 0,
                    src_off: 0,
                    dst_stride: 0,
                    dst_off: 0,
                }));
            }
            code::CONCATENATION => self.concatenation(op, &ins, output(0)?)?,
            code::SPLIT_V => self.split_v(op, input(0)?, input(1)?, input(2)?, &outs)?,
            code::STRIDED_SLICE => self.strided_slice(op, &ins, output(0)?)?,
            code::CONV_2D | code::DEPTHWISE_CONV_2D => self.conv(
                op,
                input(0)?,
                input(1)?,
                ins.get(2).copied().flatten(),
                output(0)?,
                code == code::DEPTHWISE_CONV_2D,
            )?,
            code::FULLY_CONNECTED => self.fully_connected(
                op,
                input(0)?,
                input(1)?,
                ins.get(2).copied().flatten(),
                output(0)?,
            )?,
            code::LOGISTIC => {
                let (i, o) = (input(0)?, output(0)?);
                let (ti, to) = (ts[i].expect(DType::I8)?, ts[o].expect(DType::I8)?);
                if ti.elems != to.elems {
                    return Err(to.err("shape differs from the input"));
                }
                let ((si, zi), (so, zo)) = (ti.quant()?, to.quant()?);
                let src = self.src(i)?;
                let dst = self.output(o)?;
                self.ops
                    .push(Op::Lut(Box::new(Lut::logistic(src, dst, si, zi, so, zo))));
            }
            code::QUANTIZE => {
                let (i, o) = (input(0)?, output(0)?);
                let (ti, to) = (&ts[i], &ts[o]);
                let eight_bit = |t: &T| matches!(t.dtype, DType::I8 | DType::U8);
                if !eight_bit(ti) || !eight_bit(to) {
                    return Err(to.err(format!(
                        "QUANTIZE {:?} -> {:?} is not supported (8-bit only)",
                        ti.dtype, to.dtype
                    )));
                }
                if ti.elems != to.elems {
                    return Err(to.err("shape differs from the input"));
                }
                let ((si, zi), (so, zo)) = (ti.quant()?, to.quant()?);
                let (mult, shift) = quantize_multiplier(f64::from(si) / f64::from(so));
                let (out_min, out_max) = if to.dtype == DType::I8 {
                    (-128, 127)
                } else {
                    (0, 255)
                };
                let in_signed = ti.dtype == DType::I8;
                let src = self.src(i)?;
                let dst = self.output(o)?;
                self.ops.push(Op::Requantize(Requantize {
                    src,
                    dst,
                    in_signed,
                    in_zp: zi,
                    out_zp: zo,
                    mult,
                    shift,
                    out_min,
                    out_max,
                }));
            }
            code::ADD | code::MUL => self.binary(op, code, input(0)?, input(1)?, output(0)?)?,
            _ => return Err(TfliteError::Unsupported(vec![op_name(code)])),
        }
        Ok(())
    }

    fn concatenation(
        &mut self,
        op: &schema::Operator,
        ins: &[Option<usize>],
        o: usize,
    ) -> Result<(), TfliteError> {
        let opts = op
            .options::<schema::ConcatenationOptions>()
            .ok_or_else(|| bad("no options"))?;
        if opts.fused_activation_function().unwrap_or(0) != 0 {
            return Err(bad("fused activation on CONCATENATION is not supported"));
        }
        let to = &self.ts[o];
        let rank = to.shape.len() as i64;
        let axis = i64::from(opts.axis().unwrap_or(0));
        let axis = if axis < 0 { axis + rank } else { axis };
        if !(0..rank).contains(&axis) {
            return Err(to.err(format!("concatenation axis {axis} out of range")));
        }
        let axis = axis as usize;
        let esize = to
            .dtype
            .size()
            .ok_or_else(|| to.err("has no element size"))?;
        let outer: usize = to.shape[..axis].iter().product();
        let dst_stride: usize = to.shape[axis..].iter().product::<usize>() * esize;
        let quant = |t: &T| (t.scales.first().copied(), t.zps.first().copied());
        let mut srcs = Vec::new();
        let mut axis_sum = 0;
        for &i in ins {
            let i = i.ok_or_else(|| bad("missing input"))?;
            let ti = &self.ts[i];
            let same_other_dims = ti.shape.len() == to.shape.len()
                && ti
                    .shape
                    .iter()
                    .zip(&to.shape)
                    .enumerate()
                    .all(|(k, (a, b))| k == axis || a == b);
            if ti.dtype != to.dtype || !same_other_dims {
                return Err(ti.err(format!(
                    "cannot be concatenated into {:?} {:?}",
                    to.dtype, to.shape
                )));
            }
            if quant(ti) != quant(to) {
                return Err(ti.err(
                    "quantization differs from the output (rescaling concat is not supported)",
                ));
            }
            axis_sum += ti.shape[axis];
            srcs.push((
                self.src(i)?,
                ti.shape[axis..].iter().product::<usize>() * esize,
            ));
        }
        if axis_sum != to.shape[axis] {
            return Err(to.err("concatenated sizes do not add up"));
        }
        let dst = self.output(o)?;
        let mut dst_off = 0;
        for (src, chunk) in srcs {
            self.ops.push(Op::Copy(Copy2D {
                src,
                dst: dst.clone(),
                outer,
                chunk,
                src_stride: chunk,
                src_off: 0,
                dst_stride,
                dst_off,
            }));
            dst_off += chunk;
        }
        Ok(())
    }

    fn split_v(
        &mut self,
        op: &schema::Operator,
        i: usize,
        sizes: usize,
        axis: usize,
        outs: &[Option<usize>],
    ) -> Result<(), TfliteError> {
        let ti = &self.ts[i];
        let sizes = self.ts[sizes].const_i32()?;
        let axis = *self.ts[axis]
            .const_i32()?
            .first()
            .ok_or_else(|| bad("empty axis"))?;
        let num = op
            .options::<schema::SplitVOptions>()
            .and_then(|o| o.num_splits())
            .unwrap_or(outs.len() as i32);
        if num as usize != outs.len() || sizes.len() != outs.len() {
            return Err(bad("SPLIT_V sizes and outputs disagree"));
        }
        let rank = ti.shape.len() as i64;
        let axis = if axis < 0 {
            i64::from(axis) + rank
        } else {
            i64::from(axis)
        };
        if !(0..rank).contains(&axis) {
            return Err(ti.err(format!("split axis {axis} out of range")));
        }
        let axis = axis as usize;
        let dim = ti.shape[axis];
        let known: i64 = sizes
            .iter()
            .filter(|&&s| s >= 0)
            .map(|&s| i64::from(s))
            .sum();
        let unknown = sizes.iter().filter(|&&s| s < 0).count();
        if sizes.iter().any(|&s| s < -1)
            || unknown > 1
            || known > dim as i64
            || (unknown == 0 && known != dim as i64)
        {
            return Err(ti.err(format!("invalid split sizes {sizes:?}")));
        }
        let esize = ti
            .dtype
            .size()
            .ok_or_else(|| ti.err("has no element size"))?;
        let outer: usize = ti.shape[..axis].iter().product();
        let inner: usize = ti.shape[axis + 1..].iter().product::<usize>() * esize;
        let src = self.src(i)?;
        let mut off = 0;
        for (&s, &o) in sizes.iter().zip(outs) {
            let s = if s < 0 {
                dim - known as usize
            } else {
                s as usize
            };
            let o = o.ok_or_else(|| bad("missing output"))?;
            let to = &self.ts[o];
            let mut expect = ti.shape.clone();
            expect[axis] = s;
            if to.shape != expect || to.dtype != ti.dtype {
                return Err(to.err(format!("expected shape {expect:?}")));
            }
            let dst = self.output(o)?;
            let chunk = s * inner;
            self.ops.push(Op::Copy(Copy2D {
                src: src.clone(),
                dst,
                outer,
                chunk,
                src_stride: dim * inner,
                src_off: off * inner,
                dst_stride: chunk,
                dst_off: 0,
            }));
            off += s;
        }
        Ok(())
    }

    fn strided_slice(
        &mut self,
        op: &schema::Operator,
        ins: &[Option<usize>],
        o: usize,
    ) -> Result<(), TfliteError> {
        let get = |k: usize| {
            ins.get(k)
                .copied()
                .flatten()
                .ok_or_else(|| bad(format!("missing input {k}")))
        };
        let (i, to) = (get(0)?, &self.ts[o]);
        let ti = &self.ts[i];
        let (begin, end, strides) = (
            self.ts[get(1)?].const_i32()?,
            self.ts[get(2)?].const_i32()?,
            self.ts[get(3)?].const_i32()?,
        );
        let rank = ti.shape.len();
        if begin.len() != rank || end.len() != rank || strides.len() != rank || rank > 6 {
            return Err(ti.err("begin/end/strides must have one entry per dimension"));
        }
        let opts = op
            .options::<schema::StridedSliceOptions>()
            .ok_or_else(|| bad("no options"))?;
        if opts.ellipsis_mask().unwrap_or(0) != 0 || opts.new_axis_mask().unwrap_or(0) != 0 {
            return Err(bad("ellipsis and new-axis masks are not supported"));
        }
        if ti.dtype.size() != Some(1) || ti.dtype != to.dtype {
            return Err(ti.err("STRIDED_SLICE is supported on 8-bit tensors only"));
        }
        let (bm, em, sm) = (
            opts.begin_mask().unwrap_or(0),
            opts.end_mask().unwrap_or(0),
            opts.shrink_axis_mask().unwrap_or(0),
        );
        let offset = opts.offset().unwrap_or(false);
        let mut axes = Vec::with_capacity(rank);
        let mut count = 1usize;
        for k in 0..rank {
            let stride = i64::from(strides[k]);
            if stride == 0 {
                return Err(bad("zero stride"));
            }
            let bit = |m: i32| m & (1 << k) != 0;
            let size = ti.shape[k] as i64;
            let (start, stop) = slice_axis(
                size,
                i64::from(begin[k]),
                i64::from(end[k]),
                stride,
                bit(bm),
                bit(em),
                bit(sm),
                offset,
            );
            let n = if stride > 0 {
                (stop - start + stride - 1) / stride
            } else {
                (start - stop - stride - 1) / -stride
            };
            let n = n.max(0) as usize;
            count *= n;
            axes.push((start, stride, n));
        }
        if count != to.elems {
            return Err(to.err(format!(
                "slice has {count} elements, output declares {:?}",
                to.shape
            )));
        }
        let mut in_strides = vec![1i64; rank];
        for k in (0..rank.saturating_sub(1)).rev() {
            in_strides[k] = in_strides[k + 1] * ti.shape[k + 1] as i64;
        }
        let mut idx = Vec::with_capacity(count);
        let mut pos = vec![0usize; rank];
        if count > 0 {
            'outer: loop {
                let off: i64 = (0..rank)
                    .map(|k| (axes[k].0 + pos[k] as i64 * axes[k].1) * in_strides[k])
                    .sum();
                idx.push(off as u32);
                for k in (0..rank).rev() {
                    pos[k] += 1;
                    if pos[k] < axes[k].2 {
                        continue 'outer;
                    }
                    pos[k] = 0;
                }
                break;
            }
        }
        if idx.iter().any(|&x| x as usize >= ti.elems) {
            return Err(bad("slice reads outside its input"));
        }
        let src = self.src(i)?;
        let dst = self.output(o)?;
        self.ops.push(Op::Gather(Gather::new(src, dst, &idx)));
        Ok(())
    }

    fn conv(
        &mut self,
        op: &schema::Operator,
        i: usize,
        f: usize,
        b: Option<usize>,
        o: usize,
        depthwise: bool,
    ) -> Result<(), TfliteError> {
        let ts = self.ts;
        let (ti, tf, to) = (
            ts[i].expect(DType::I8)?.expect_rank(4)?,
            ts[f].expect(DType::I8)?.expect_rank(4)?,
            ts[o].expect(DType::I8)?.expect_rank(4)?,
        );
        // The depth multiplier is derived from the shapes (its option is redundant, as in TFLite).
        let (padding, stride_w, stride_h, act, dil_w, dil_h) = if depthwise {
            let p = op
                .options::<schema::DepthwiseConv2DOptions>()
                .ok_or_else(|| bad("no options"))?;
            (
                p.padding(),
                p.stride_w(),
                p.stride_h(),
                p.fused_activation_function(),
                p.dilation_w_factor(),
                p.dilation_h_factor(),
            )
        } else {
            let p = op
                .options::<schema::Conv2DOptions>()
                .ok_or_else(|| bad("no options"))?;
            (
                p.padding(),
                p.stride_w(),
                p.stride_h(),
                p.fused_activation_function(),
                p.dilation_w_factor(),
                p.dilation_h_factor(),
            )
        };
        let pos = |v: Option<i32>, default: i32| {
            usize::try_from(v.unwrap_or(default))
                .ok()
                .filter(|&v| (1..=1 << 16).contains(&v))
        };
        let (Some(stride_h), Some(stride_w), Some(dil_h), Some(dil_w)) = (
            pos(stride_h, 0),
            pos(stride_w, 0),
            pos(dil_h, 1),
            pos(dil_w, 1),
        ) else {
            return Err(bad("strides and dilations must be positive"));
        };
        let [batches, in_h, in_w, in_c] = ti.shape[..] else {
            unreachable!()
        };
        let (k_h, k_w, out_c) = if depthwise {
            (tf.shape[1], tf.shape[2], tf.shape[3])
        } else {
            (tf.shape[1], tf.shape[2], tf.shape[0])
        };
        if depthwise {
            if tf.shape[0] != 1 || in_c == 0 || out_c % in_c != 0 {
                return Err(tf.err(format!(
                    "depthwise filter {:?} does not fit input channels {in_c}",
                    tf.shape
                )));
            }
        } else if tf.shape[3] != in_c {
            return Err(tf.err(format!(
                "filter {:?} does not fit input channels {in_c}",
                tf.shape
            )));
        }
        let same = match padding.unwrap_or(0) {
            0 => true,
            1 => false,
            p => return Err(bad(format!("unknown padding {p}"))),
        };
        let out_dim =
            |size: usize, k: usize, stride: usize, dil: usize| -> Option<(usize, usize)> {
                let eff = (k.checked_sub(1)?).checked_mul(dil)? + 1;
                let out = if same {
                    size.div_ceil(stride)
                } else {
                    (size + stride).checked_sub(eff)? / stride
                };
                let total = ((out.checked_sub(1)?) * stride + eff).saturating_sub(size);
                Some((out, total / 2))
            };
        let (Some((out_h, pad_h)), Some((out_w, pad_w))) = (
            out_dim(in_h, k_h, stride_h, dil_h),
            out_dim(in_w, k_w, stride_w, dil_w),
        ) else {
            return Err(bad("convolution has an empty output"));
        };
        if to.shape != [batches, out_h, out_w, out_c] {
            return Err(to.err(format!(
                "expected shape {:?}",
                [batches, out_h, out_w, out_c]
            )));
        }
        let g = Geometry {
            batches,
            in_h,
            in_w,
            in_c,
            out_h,
            out_w,
            out_c,
            k_h,
            k_w,
            stride_h,
            stride_w,
            dil_h,
            dil_w,
            pad_h,
            pad_w,
        };
        let ((si, zi), (so, zo)) = (ti.quant()?, to.quant()?);
        let fscales = tf.channel_scales(out_c)?;
        let (mut mult, mut shift) = (Vec::with_capacity(out_c), Vec::with_capacity(out_c));
        for &fs in &fscales {
            let (m, s) = quantize_multiplier(f64::from(si) * f64::from(fs) / f64::from(so));
            mult.push(m);
            shift.push(s);
        }
        let bias = match b {
            Some(b) => {
                let v = ts[b].const_i32()?;
                if v.len() != out_c {
                    return Err(ts[b].err(format!("expected {out_c} biases")));
                }
                v
            }
            None => vec![0; out_c],
        };
        let (act_min, act_max) = activation_range(act.unwrap_or(0), so, zo, -128, 127)
            .ok_or_else(|| bad("unsupported fused activation"))?;
        let weights = tf.const_i8()?;
        let src = self.src(i)?;
        let dst = self.output(o)?;
        if depthwise {
            let rq = Requant {
                bias,
                mult,
                shift,
                out_zp: zo,
                act_min,
                act_max,
            };
            let depth_multiplier = out_c / in_c;
            self.l.scratch.acc = self.l.scratch.acc.max(out_c);
            self.ops.push(Op::Depthwise(Box::new(DepthwiseConv {
                src,
                dst,
                g,
                depth_multiplier,
                input_offset: -zi,
                weights,
                rq,
            })));
        } else {
            let depth = k_h * k_w * in_c;
            let folded = bias
                .iter()
                .zip(weights.chunks_exact(depth.max(1)))
                .map(|(&b, w)| {
                    b.wrapping_add((-zi).wrapping_mul(w.iter().map(|&v| v as i32).sum()))
                })
                .collect();
            let rq = Requant {
                bias: folded,
                mult,
                shift,
                out_zp: zo,
                act_min,
                act_max,
            };
            let conv = Conv {
                src,
                dst,
                g,
                in_zp: zi as i8,
                weights,
                rq,
            };
            let n = conv.positions();
            // The im2col patches of all output positions are held at once: bound them.
            let patch = n
                .checked_mul(conv.depth())
                .filter(|&p| p <= MAX_BYTES)
                .ok_or_else(|| bad("convolution scratch too large"))?;
            self.l.scratch.patch = self.l.scratch.patch.max(patch);
            self.l.scratch.acc = self.l.scratch.acc.max(n * out_c);
            self.ops.push(Op::Conv(Box::new(conv)));
        }
        Ok(())
    }

    fn fully_connected(
        &mut self,
        op: &schema::Operator,
        i: usize,
        f: usize,
        b: Option<usize>,
        o: usize,
    ) -> Result<(), TfliteError> {
        let ts = self.ts;
        let (ti, tf, to) = (
            ts[i].expect(DType::I8)?,
            ts[f].expect(DType::I8)?.expect_rank(2)?,
            ts[o].expect(DType::I8)?,
        );
        let opts = op.options::<schema::FullyConnectedOptions>();
        if opts.and_then(|o| o.weights_format()).unwrap_or(0) != 0 {
            return Err(bad("shuffled FULLY_CONNECTED weights are not supported"));
        }
        let (units, depth) = (tf.shape[0], tf.shape[1]);
        if depth == 0 || ti.elems % depth != 0 || to.elems != ti.elems / depth * units {
            return Err(to.err(format!(
                "input {:?} and weights {:?} do not give {:?}",
                ti.shape, tf.shape, to.shape
            )));
        }
        let batches = ti.elems / depth;
        let ((si, zi), (so, zo)) = (ti.quant()?, to.quant()?);
        let (mut mult, mut shift) = (Vec::new(), Vec::new());
        for &fs in &tf.channel_scales(units)? {
            let (m, s) = quantize_multiplier(f64::from(si) * f64::from(fs) / f64::from(so));
            mult.push(m);
            shift.push(s);
        }
        let bias = match b {
            Some(b) => {
                let v = ts[b].const_i32()?;
                if v.len() != units {
                    return Err(ts[b].err(format!("expected {units} biases")));
                }
                v
            }
            None => vec![0; units],
        };
        let weights = tf.const_i8()?;
        let bias = bias
            .iter()
            .zip(weights.chunks_exact(depth))
            .map(|(&b, w)| b.wrapping_add((-zi).wrapping_mul(w.iter().map(|&v| v as i32).sum())))
            .collect();
        let act = opts
            .and_then(|o| o.fused_activation_function())
            .unwrap_or(0);
        let (act_min, act_max) = activation_range(act, so, zo, -128, 127)
            .ok_or_else(|| bad("unsupported fused activation"))?;
        let src = self.src(i)?;
        let dst = self.output(o)?;
        self.l.scratch.acc = self.l.scratch.acc.max(batches * units);
        self.ops.push(Op::FullyConnected(Box::new(FullyConnected {
            src,
            dst,
            batches,
            depth,
            units,
            weights,
            bias,
            mult,
            shift,
            rounding: Rounding::Single,
            out_zp: zo,
            act_min,
            act_max,
        })));
        Ok(())
    }

    fn binary(
        &mut self,
        op: &schema::Operator,
        code: i32,
        a: usize,
        b: usize,
        o: usize,
    ) -> Result<(), TfliteError> {
        let ts = self.ts;
        let (ta, tb, to) = (
            ts[a].expect(DType::I8)?,
            ts[b].expect(DType::I8)?,
            ts[o].expect(DType::I8)?,
        );
        // numpy broadcasting, aligned at the last dimension.
        let rank = ta.shape.len().max(tb.shape.len());
        let dim = |s: &[usize], k: usize| {
            if k + s.len() < rank {
                1
            } else {
                s[k + s.len() - rank]
            }
        };
        let mut shape = Vec::with_capacity(rank);
        for k in 0..rank {
            let (x, y) = (dim(&ta.shape, k), dim(&tb.shape, k));
            if x != y && x != 1 && y != 1 {
                return Err(to.err(format!(
                    "cannot broadcast {:?} with {:?}",
                    ta.shape, tb.shape
                )));
            }
            shape.push(if x == 1 { y } else { x });
        }
        if shape.iter().product::<usize>() != to.elems
            || to.shape.iter().product::<usize>() != to.elems
            || shape.len() > 8
        {
            return Err(to.err(format!("expected broadcast shape {shape:?}")));
        }
        let strides = |s: &[usize]| {
            let mut st = vec![0usize; rank];
            let mut acc = 1;
            for k in (0..rank).rev() {
                let d = dim(s, k);
                st[k] = if d == 1 { 0 } else { acc };
                acc *= d;
            }
            st
        };
        let (sa, sb) = (strides(&ta.shape), strides(&tb.shape));
        let mut idx = Vec::with_capacity(to.elems);
        let mut pos = vec![0usize; rank];
        for _ in 0..to.elems {
            let ia: usize = pos.iter().zip(&sa).map(|(p, s)| p * s).sum();
            let ib: usize = pos.iter().zip(&sb).map(|(p, s)| p * s).sum();
            idx.push((ia as u32, ib as u32));
            for k in (0..rank).rev() {
                pos[k] += 1;
                if pos[k] < shape[k] {
                    break;
                }
                pos[k] = 0;
            }
        }
        let ((s1, z1), (s2, z2), (so, zo)) = (ta.quant()?, tb.quant()?, to.quant()?);
        let act = if code == code::ADD {
            op.options::<schema::AddOptions>()
                .and_then(|o| o.fused_activation_function())
        } else {
            op.options::<schema::MulOptions>()
                .and_then(|o| o.fused_activation_function())
        };
        let (act_min, act_max) = activation_range(act.unwrap_or(0), so, zo, -128, 127)
            .ok_or_else(|| bad("unsupported fused activation"))?;
        let kind = if code == code::ADD {
            let left_shift = 20;
            let twice_max = 2.0 * f64::from(s1.max(s2));
            BinaryKind::Add {
                left_shift,
                in1: quantize_multiplier(f64::from(s1) / twice_max),
                in2: quantize_multiplier(f64::from(s2) / twice_max),
                out: quantize_multiplier(twice_max / (f64::from(1 << left_shift) * f64::from(so))),
            }
        } else {
            BinaryKind::Mul {
                out: quantize_multiplier(f64::from(s1) * f64::from(s2) / f64::from(so)),
            }
        };
        let (src1, src2) = (self.src(a)?, self.src(b)?);
        let dst = self.output(o)?;
        self.ops.push(Op::Binary(Box::new(Binary {
            src1,
            src2,
            dst,
            idx,
            in1_offset: -z1,
            in2_offset: -z2,
            out_zp: zo,
            act_min,
            act_max,
            kind,
        })));
        Ok(())
    }
}
