//! A sliding window over a frame stream: the shared streaming core of the convolutions and frame
//! stacking. Windows of `span` frames start every `stride` frames of a virtual stream made of
//! `left_pad` zero frames followed by the input, so streaming equals offline by construction.

#[derive(Debug, Clone)]
pub(crate) struct Window {
    /// Buffered frames `[m, frame]`, starting at the oldest frame still needed.
    pub buf: Vec<f32>,
    frame: usize,
    left_pad: usize,
    /// Start of the next window, in frames from the start of `buf` (may exceed the buffer when
    /// stride > span: those input frames are skipped as they arrive).
    next: usize,
}

impl Window {
    pub fn new(frame: usize, left_pad: usize) -> Self {
        let mut w = Window {
            buf: Vec::new(),
            frame,
            left_pad,
            next: 0,
        };
        w.reset();
        w
    }

    pub fn reset(&mut self) {
        self.buf.clear();
        self.buf.resize(self.left_pad * self.frame, 0.0);
        self.next = 0;
    }

    /// Appends `x` (whole frames) and returns the buffer-relative start of every complete window.
    /// Call [`Window::consume`] after reading them.
    pub fn push(&mut self, x: &[f32], span: usize, stride: usize) -> std::ops::Range<usize> {
        self.buf.extend_from_slice(x);
        let have = self.buf.len() / self.frame.max(1);
        let count = if have >= self.next + span {
            (have - self.next - span) / stride + 1
        } else {
            0
        };
        // Returned as a range of window indices; start of window i is next + i * stride.
        0..count
    }

    /// Buffer-relative start frame of window `i` from the last [`Window::push`].
    pub fn start(&self, i: usize, stride: usize) -> usize {
        self.next + i * stride
    }

    /// Drops the frames no future window needs after `count` windows were produced.
    pub fn consume(&mut self, count: usize, stride: usize) {
        self.next += count * stride;
        let have = self.buf.len() / self.frame.max(1);
        let drop = self.next.min(have);
        self.buf.drain(..drop * self.frame);
        self.next -= drop;
    }

    /// Frame `j` of the buffer.
    #[inline]
    pub fn frame(&self, j: usize) -> &[f32] {
        &self.buf[j * self.frame..(j + 1) * self.frame]
    }
}
