//! Per-stream execution state.

use super::model::Model;
use super::ops::{as_i8_mut, Inputs, Op, Scratch, Src};
use std::sync::Arc;

/// One stream's state for a [`Model`]: the tensor arena, resource variables (the streaming
/// state of microWakeWord models) and scratch. Created once; [`Interpreter::invoke`] allocates
/// nothing.
#[derive(Clone, Debug)]
pub struct Interpreter {
    model: Arc<Model>,
    arena: Vec<u8>,
    vars: Vec<u8>,
    once: Vec<bool>,
    scratch: Scratch,
}

impl Interpreter {
    /// Allocates the planned memory for `model`.
    pub fn new(model: Arc<Model>) -> Self {
        let scratch = Scratch {
            acc: vec![0; model.scratch.acc],
            patch: vec![0; model.scratch.patch],
        };
        Interpreter {
            arena: vec![0; model.arena_size],
            vars: vec![0; model.vars_size],
            once: vec![false; model.num_once],
            scratch,
            model,
        }
    }

    /// The shared model.
    pub fn model(&self) -> &Arc<Model> {
        &self.model
    }

    /// Raw bytes of input `index`, to be filled before [`Interpreter::invoke`].
    pub fn input_mut(&mut self, index: usize) -> Option<&mut [u8]> {
        let r = self.model.inputs.get(index)?.1.clone();
        Some(&mut self.arena[r])
    }

    /// Input `index` as int8 values.
    pub fn input_i8_mut(&mut self, index: usize) -> Option<&mut [i8]> {
        self.input_mut(index).map(as_i8_mut)
    }

    /// Raw bytes of output `index` after [`Interpreter::invoke`].
    pub fn output(&self, index: usize) -> Option<&[u8]> {
        let r = self.model.outputs.get(index)?.1.clone();
        Some(&self.arena[r])
    }

    /// Runs the main graph once (the first call also runs CALL_ONCE initialisers).
    pub fn invoke(&mut self) {
        let Interpreter {
            model,
            arena,
            vars,
            once,
            scratch,
        } = self;
        run_graph(model, 0, arena, vars, once, scratch);
    }

    /// Forgets all streaming state: variables are re-initialised on the next invoke.
    pub fn reset(&mut self) {
        self.arena.fill(0);
        self.vars.fill(0);
        self.once.fill(false);
    }
}

fn run_graph(
    model: &Model,
    g: usize,
    arena: &mut [u8],
    vars: &mut [u8],
    once: &mut [bool],
    scratch: &mut Scratch,
) {
    for op in &model.graphs[g].ops {
        match op {
            Op::CallOnce { graph, flag } => {
                if !once[*flag] {
                    once[*flag] = true;
                    run_graph(model, *graph, arena, vars, once, scratch);
                }
            }
            Op::ReadVar { var, dst } => arena[dst.clone()].copy_from_slice(&vars[var.clone()]),
            Op::AssignVar { src, var } => {
                let bytes = match src {
                    Src::Const(r) => &model.consts[r.clone()],
                    Src::Arena(r) => &arena[r.clone()],
                };
                vars[var.clone()].copy_from_slice(bytes);
            }
            op => {
                let dst = op.dst().expect("data ops have an output");
                let (inp, out) = Inputs::split(arena, &model.consts, dst);
                op.run(&inp, out, scratch);
            }
        }
    }
}
