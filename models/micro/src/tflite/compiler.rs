//! The graph compiler: validates a verified flatbuffer subgraph by subgraph, plans the arena and
//! turns each operator into a compiled [`Op`] through its builder in `ops/`.

use super::opcode::{self as code, op_name};
use super::ops::{self, Build, Op, ScratchNeed, Src};
use super::planner::Planner;
use super::schema::{self, OperatorCode};
use super::tensor::{self, info, tensor_indices, TensorInfo, T};
use super::{bad, LoadError};
use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use core::ops::Range;

/// Graph inputs or outputs with their arena ranges.
pub(crate) type GraphIo = Vec<(TensorInfo, Range<usize>)>;

/// A compiled subgraph.
#[derive(Debug, Default)]
pub(crate) struct Graph {
    pub(crate) ops: Vec<Op>,
}

/// Everything loading produces besides the file bytes.
#[derive(Debug)]
pub(crate) struct Compiled {
    pub(crate) graphs: Vec<Graph>,
    /// Bytes of tensors in the arena.
    pub(crate) arena_size: usize,
    /// Bytes of resource variables.
    pub(crate) vars_size: usize,
    /// Number of CALL_ONCE flags.
    pub(crate) num_once: usize,
    pub(crate) scratch: ScratchNeed,
    pub(crate) inputs: GraphIo,
    pub(crate) outputs: GraphIo,
    pub(crate) op_names: Vec<String>,
    /// Bytes of constant tensors referenced by the compiled ops.
    pub(crate) const_bytes: usize,
}

/// Compiles a model from its verified root table.
pub(crate) fn compile<'a>(file: &'a [u8], fb: schema::Model<'a>) -> Result<Compiled, LoadError> {
    Loader::new(file, fb)?.run()
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
    const_bytes: usize,
    arena: usize,
    var_ids: BTreeMap<(String, String), usize>,
    var_len: Vec<Option<usize>>,
    var_ranges: Vec<Range<usize>>,
    num_once: usize,
    scratch: ScratchNeed,
    op_names: Vec<String>,
}

impl<'a> Loader<'a> {
    fn new(file: &'a [u8], fb: schema::Model<'a>) -> Result<Self, LoadError> {
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
            const_bytes: 0,
            arena: 0,
            var_ids: BTreeMap::new(),
            var_len: Vec::new(),
            var_ranges: Vec::new(),
            num_once: 0,
            scratch: ScratchNeed::default(),
            op_names: Vec::new(),
        })
    }

    fn subgraph(&self, i: usize) -> Result<schema::SubGraph<'a>, LoadError> {
        let sgs = self.fb.subgraphs().ok_or_else(|| bad("no subgraphs"))?;
        if i >= sgs.len() {
            return Err(bad(msg!("subgraph {i} does not exist")));
        }
        Ok(sgs.get(i))
    }

    fn op_code(&self, op: &schema::Operator) -> Result<i32, LoadError> {
        let i = op.opcode_index().unwrap_or(0) as usize;
        self.codes
            .get(i)
            .copied()
            .ok_or_else(|| bad(msg!("operator code index {i} out of range")))
    }

    fn run(mut self) -> Result<Compiled, LoadError> {
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
            return Err(LoadError::Unsupported(unsupported));
        }
        // Resource variables: ids by (container, shared_name), sizes from their assignments.
        for &g in &reach {
            self.scan_variables(g)?;
        }
        let mut vars_size = 0;
        for (id, len) in self.var_len.iter().enumerate() {
            let len = len.ok_or_else(|| bad(msg!("resource variable {id} is never assigned")))?;
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
        let (inputs, outputs) = io.ok_or_else(|| bad("main graph not compiled"))?;
        Ok(Compiled {
            graphs,
            const_bytes: self.const_bytes,
            arena_size: self.arena,
            vars_size,
            num_once: self.num_once,
            scratch: self.scratch,
            inputs,
            outputs,
            op_names: self.op_names,
        })
    }

    fn scan_variables(&mut self, g: usize) -> Result<(), LoadError> {
        let sg = self.subgraph(g)?;
        let tensors = tensor::parse(self.file, &self.fb, &sg)?;
        let mut handle: BTreeMap<usize, usize> = BTreeMap::new();
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

    fn compile(&mut self, g: usize) -> Result<(Graph, (GraphIo, GraphIo)), LoadError> {
        let sg = self.subgraph(g)?;
        let ts = tensor::parse(self.file, &self.fb, &sg)?;
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
            const_at: BTreeMap::new(),
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
                #[cfg(feature = "messages")]
                LoadError::Invalid(m) => LoadError::Invalid(alloc::format!(
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

/// Compiles one subgraph: tensor locations, the arena plan and the ops so far.
struct GraphCompiler<'l, 'a, 't> {
    l: &'l mut Loader<'a>,
    ts: &'t [T<'a>],
    loc: Vec<Option<Loc>>,
    const_at: BTreeMap<usize, Range<usize>>,
    ops: Vec<Op>,
    plan: Planner,
}

impl<'t, 'a: 't> Build<'t, 'a> for GraphCompiler<'_, 'a, 't> {
    fn tensors(&self) -> &'t [T<'a>] {
        self.ts
    }

    fn src(&mut self, i: usize) -> Result<Src, LoadError> {
        GraphCompiler::src(self, i)
    }

    fn output(&mut self, i: usize) -> Result<Range<usize>, LoadError> {
        GraphCompiler::output(self, i)
    }

    fn push(&mut self, op: Op) {
        self.ops.push(op);
    }

    fn need_scratch(&mut self, acc: usize, patch: usize) {
        let s = &mut self.l.scratch;
        s.acc = s.acc.max(acc);
        s.patch = s.patch.max(patch);
    }
}

impl GraphCompiler<'_, '_, '_> {
    /// Allocates the (single-assignment) output tensor `i`.
    fn output(&mut self, i: usize) -> Result<Range<usize>, LoadError> {
        let t = &self.ts[i];
        if self.loc[i].is_some() || t.data.is_some() {
            return Err(t.err("is written twice or is constant"));
        }
        let r = self.plan.alloc(t.bytes()?)?;
        self.loc[i] = Some(Loc::Arena(r.clone()));
        Ok(r)
    }

    /// A data input: constant bytes (read from the file) or a computed tensor.
    fn src(&mut self, i: usize) -> Result<Src, LoadError> {
        let t = &self.ts[i];
        if let Some(d) = t.data {
            let r = match self.const_at.get(&i) {
                Some(r) => r.clone(),
                None => {
                    self.l.const_bytes += d.len();
                    let r = t.at..t.at + d.len();
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

    fn var(&self, i: usize) -> Result<Range<usize>, LoadError> {
        match self.loc[i] {
            Some(Loc::Var(id)) => Ok(self.l.var_ranges[id].clone()),
            _ => Err(self.ts[i].err("is not a resource variable handle")),
        }
    }

    fn op(&mut self, op: &schema::Operator) -> Result<(), LoadError> {
        let code = self.l.op_code(op)?;
        let name = op_name(code);
        if !self.l.op_names.contains(&name) {
            self.l.op_names.push(name);
        }
        let n = self.ts.len();
        let ins = tensor_indices(op.inputs(), n)?;
        let outs = tensor_indices(op.outputs(), n)?;
        let input = |k: usize| -> Result<usize, LoadError> {
            ins.get(k)
                .copied()
                .flatten()
                .ok_or_else(|| bad(msg!("missing input {k}")))
        };
        let output = |k: usize| -> Result<usize, LoadError> {
            outs.get(k)
                .copied()
                .flatten()
                .ok_or_else(|| bad(msg!("missing output {k}")))
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
            code::RESHAPE => ops::build_reshape(self, input(0)?, output(0)?)?,
            code::CONCATENATION => ops::build_concatenation(self, op, &ins, output(0)?)?,
            code::SPLIT_V => ops::build_split_v(self, op, input(0)?, input(1)?, input(2)?, &outs)?,
            code::STRIDED_SLICE => ops::build_strided_slice(self, op, &ins, output(0)?)?,
            code::CONV_2D | code::DEPTHWISE_CONV_2D => ops::build_conv(
                self,
                op,
                input(0)?,
                input(1)?,
                ins.get(2).copied().flatten(),
                output(0)?,
                code == code::DEPTHWISE_CONV_2D,
            )?,
            code::FULLY_CONNECTED => ops::build_fully_connected(
                self,
                op,
                input(0)?,
                input(1)?,
                ins.get(2).copied().flatten(),
                output(0)?,
            )?,
            code::LOGISTIC => ops::build_logistic(self, input(0)?, output(0)?)?,
            code::QUANTIZE => ops::build_quantize(self, input(0)?, output(0)?)?,
            code::ADD | code::MUL => {
                ops::build_binary(self, op, code, input(0)?, input(1)?, output(0)?)?
            }
            _ => return Err(LoadError::Unsupported(vec![op_name(code)])),
        }
        Ok(())
    }
}
