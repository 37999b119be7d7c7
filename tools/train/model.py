"""The `rnnt-lstm-stateless` transducer of docs/model-format.md. state_dict keys == safetensors tensor names."""

import torch
from torch import nn
import torch.nn.functional as F


class StackedInput(nn.Module):
    """What every encoder does first: CMVN with the recipe's statistics (buffers `cmvn_mean` / `cmvn_istd`), then S
    consecutive feature frames stacked into one encoder frame (a trailing partial group is dropped)."""

    def __init__(self, feat_dim, stack):
        super().__init__()
        self.stack = stack
        self.register_buffer("cmvn_mean", torch.zeros(feat_dim))
        self.register_buffer("cmvn_istd", torch.ones(feat_dim))

    def normalize(self, feats):
        return (feats - self.cmvn_mean) * self.cmvn_istd

    def stacked(self, x, normalized):
        """x: [B, T, F] fbank (raw unless `normalized`) -> [B, T//S, S*F]."""
        if not normalized:
            x = self.normalize(x)
        b, t, f = x.shape
        t2 = t // self.stack
        return x[:, : t2 * self.stack].reshape(b, t2, self.stack * f)


def chunk_reverse_index(lens, t, chunk):
    """[B, T] gather index that reverses time inside each chunk of `chunk` frames (chunks start at frame 0; the last
    one ends at the utterance's length); frames past the length map to themselves. Its own inverse."""
    pos = torch.arange(t, device=lens.device)[None, :].expand(len(lens), t)
    start = (pos // chunk) * chunk
    end = torch.minimum(start + chunk, lens[:, None])
    rev = start + end - 1 - pos
    return torch.where(pos < lens[:, None], rev, pos)


class Encoder(StackedInput):
    """CMVN -> stack S frames -> L one-layer LSTMs, each optionally followed by a residual add (layers > 0) and a
    LayerNorm. Causal: zero initial state, no look-ahead.

    `lookahead_chunk` C > 0 adds one more layer on top (issue 11 pilot): an LSTM run backwards in time inside each
    chunk of C encoder frames (state reset at every chunk start), residual + LayerNorm. Frame t then sees the rest of
    its chunk, so outputs come up to C frames late, and a stream cut anywhere still computes what the whole
    utterance does (chunks are counted from the first frame)."""

    def __init__(self, feat_dim, stack, num_layers, hidden, proj, dropout=0.0, residual=False, layer_norm=False,
                 lookahead_chunk=0):
        super().__init__(feat_dim, stack)
        self.residual = residual
        self.lookahead_chunk = lookahead_chunk
        out = proj if proj > 0 else hidden
        dims = [stack * feat_dim] + [out] * (num_layers - 1)
        self.lstm = nn.ModuleList(nn.LSTM(d, hidden, proj_size=proj, batch_first=True) for d in dims)
        # Post-layer LayerNorm (+ residual) keeps a deep LSTM stack's activations at unit scale: it trains faster.
        self.norm = nn.ModuleList(nn.LayerNorm(out) for _ in dims) if layer_norm else None
        self.dropout = nn.Dropout(dropout)
        if lookahead_chunk:
            if not (residual and layer_norm):
                raise ValueError("the look-ahead layer needs residual adds and LayerNorm")
            self.look = nn.LSTM(out, hidden, proj_size=proj, batch_first=True)
            self.look_norm = nn.LayerNorm(out)
        with torch.no_grad():  # forget-gate bias 1 (gate order i, f, g, o): remember by default early in training
            for l in list(self.lstm) + ([self.look] if lookahead_chunk else []):
                l.bias_ih_l0[hidden: 2 * hidden].fill_(1.0)
                l.bias_hh_l0[hidden: 2 * hidden].zero_()

    def forward(self, x, lens, normalized=False):
        """x: [B, T, F] fbank (raw unless `normalized`), lens: [B] frames -> ([B, T//S, P], lens // S)."""
        x = self.stacked(x, normalized)
        for i, l in enumerate(self.lstm):
            if i > 0:
                x = self.dropout(x)
            y, _ = l(x)
            if self.residual and i > 0:
                y = y + x
            x = self.norm[i](y) if self.norm is not None else y
        lens = lens // self.stack
        if self.lookahead_chunk:
            c = self.lookahead_chunk
            b, t, d = x.shape
            tp = -(-t // c) * c
            idx = chunk_reverse_index(lens.to(x.device), t, c)[:, :, None].expand(b, t, d)
            xr = F.pad(torch.gather(x, 1, idx), (0, 0, 0, tp - t))
            y, _ = self.look(self.dropout(xr).reshape(b * tp // c, c, d))
            y = torch.gather(y.reshape(b, tp, -1)[:, :t], 1, idx)
            x = self.look_norm(y + x)
        return x, lens


class ConformerBlock(nn.Module):
    """Macaron FF/2 -> chunked causal self-attention with a learned relative-position bias -> causal depthwise
    convolution module -> FF/2 -> LayerNorm. Pre-LN residual branches; LayerNorm instead of BatchNorm in the
    convolution module, so a frame's output never depends on other utterances or on statistics."""

    def __init__(self, d, heads, ff, kernel, chunk, left_chunks, dropout=0.0):
        super().__init__()
        assert d % heads == 0
        self.heads, self.chunk, self.left_chunks, self.kernel = heads, chunk, left_chunks, kernel
        self.ff1 = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, ff), nn.SiLU(), nn.Dropout(dropout), nn.Linear(ff, d))
        self.ln_att = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.att_out = nn.Linear(d, d)
        # Bias per head and offset q - k, which a query's visible keys span: -(chunk-1) .. (left_chunks+1)*chunk-1.
        self.pos_bias = nn.Parameter(torch.zeros(heads, (left_chunks + 2) * chunk - 1))
        self.ln_conv = nn.LayerNorm(d)
        self.pw1 = nn.Linear(d, 2 * d)
        self.dw = nn.Conv1d(d, d, kernel, groups=d)
        self.ln_dw = nn.LayerNorm(d)
        self.pw2 = nn.Linear(d, d)
        self.ff2 = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, ff), nn.SiLU(), nn.Dropout(dropout), nn.Linear(ff, d))
        self.ln_out = nn.LayerNorm(d)
        self.drop = nn.Dropout(dropout)

    def attention_bias(self, t, device):
        """[H, T, T] additive bias: relative position where visible, -inf elsewhere. Query q (chunk c_q) sees key k
        iff c_q - left_chunks <= c_k <= c_q: its own chunk (up to chunk-1 frames ahead) and left_chunks before it,
        counted from the first frame, so a stream cut into chunks computes the same."""
        pos = torch.arange(t, device=device)
        cq, ck = pos[:, None] // self.chunk, pos[None, :] // self.chunk
        visible = (ck <= cq) & (ck >= cq - self.left_chunks)
        rel = (pos[:, None] - pos[None, :] + self.chunk - 1).clamp(0, self.pos_bias.shape[1] - 1)
        bias = self.pos_bias[:, rel]
        return bias.masked_fill(~visible, float("-inf"))

    def forward(self, x, bias):
        b, t, d = x.shape
        x = x + 0.5 * self.ff1(x)
        q, k, v = self.qkv(self.ln_att(x)).view(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        h = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype))
        x = x + self.drop(self.att_out(h.transpose(1, 2).reshape(b, t, d)))
        h = F.glu(self.pw1(self.ln_conv(x)), dim=-1).transpose(1, 2)
        h = self.dw(F.pad(h, (self.kernel - 1, 0))).transpose(1, 2)
        x = x + self.drop(self.pw2(F.silu(self.ln_dw(h))))
        x = x + 0.5 * self.ff2(x)
        return self.ln_out(x)


class ConformerEncoder(StackedInput):
    """CMVN -> stack S frames -> Linear to d -> N streaming conformer blocks (chunks of `chunk` encoder frames, a
    left context of `left_chunks` chunks). Latency: up to chunk * S feature frames of look-ahead within a chunk."""

    def __init__(self, feat_dim, stack, d_model, num_layers, heads, ff_dim, kernel, chunk, left_chunks, dropout=0.0):
        super().__init__(feat_dim, stack)
        self.inp = nn.Linear(stack * feat_dim, d_model)
        self.blocks = nn.ModuleList(ConformerBlock(d_model, heads, ff_dim, kernel, chunk, left_chunks, dropout)
                                    for _ in range(num_layers))

    def forward(self, x, lens, normalized=False):
        x = self.inp(self.stacked(x, normalized))
        for blk in self.blocks:
            x = blk(x, blk.attention_bias(x.shape[1], x.device))
        return x, lens // self.stack


class Decoder(nn.Module):
    """Stateless prediction network: embedding of the last C tokens -> depthwise causal conv -> ReLU."""

    def __init__(self, vocab_size, pred_dim, context_size, blank_id=0):
        super().__init__()
        self.context_size = context_size
        self.blank_id = blank_id
        self.embedding = nn.Embedding(vocab_size, pred_dim)
        if context_size > 1:
            self.conv = nn.Conv1d(pred_dim, pred_dim, context_size, groups=pred_dim, bias=False)

    def forward(self, y):
        """y: [B, N] token ids, already left-padded with C-1 (or more) blanks -> [B, N-C+1, E]."""
        e = self.embedding(y)
        if self.context_size > 1:
            e = self.conv(e.transpose(1, 2)).transpose(1, 2)
        return F.relu(e)

    def pad(self, y):
        """Training input: prepend C blanks so position u sees (blank..., y_<u) -> U+1 outputs."""
        return F.pad(y, (self.context_size, 0), value=self.blank_id)[:, : y.shape[1] + self.context_size]


class Joiner(nn.Module):
    def __init__(self, enc_dim, pred_dim, joiner_dim, vocab_size):
        super().__init__()
        self.enc_proj = nn.Linear(enc_dim, joiner_dim)
        self.pred_proj = nn.Linear(pred_dim, joiner_dim)
        self.output = nn.Linear(joiner_dim, vocab_size)

    def forward(self, enc, pred):
        """enc [..., P] and pred [..., E] broadcastable after projection -> logits [..., V]."""
        return self.output(torch.tanh(self.enc_proj(enc) + self.pred_proj(pred)))


class Transducer(nn.Module):
    def __init__(self, feat_dim=80, stack=4, num_layers=4, hidden=640, proj=256, pred_dim=256, context_size=2,
                 joiner_dim=256, vocab_size=256, blank_id=0, ctc=True, dropout=0.0, residual=False, layer_norm=False,
                 encoder="lstm", conformer=None, lookahead_chunk=0):
        """`encoder`: "lstm" (the shipped `rnnt-lstm-stateless`) or "conformer" (training pilot, issue 11: `conformer`
        = dict(d_model, heads, ff_dim, kernel, chunk, left_chunks) with `num_layers` blocks; not exportable yet)."""
        super().__init__()
        self.hp = dict(feat_dim=feat_dim, stack=stack, num_layers=num_layers, hidden=hidden, proj=proj,
                       pred_dim=pred_dim, context_size=context_size, joiner_dim=joiner_dim,
                       vocab_size=vocab_size, blank_id=blank_id, ctc=ctc, residual=residual, layer_norm=layer_norm)
        if encoder == "conformer":
            self.hp.update(encoder=encoder, conformer=dict(conformer))
            enc_dim = conformer["d_model"]
            self.encoder = ConformerEncoder(feat_dim, stack, num_layers=num_layers, dropout=dropout, **conformer)
        elif encoder == "lstm":
            enc_dim = proj if proj > 0 else hidden
            self.encoder = Encoder(feat_dim, stack, num_layers, hidden, proj, dropout, residual, layer_norm,
                                   lookahead_chunk)
            if lookahead_chunk:
                self.hp.update(lookahead_chunk=lookahead_chunk)
        else:
            raise ValueError(f"unknown encoder {encoder!r} (lstm or conformer)")
        self.enc_dim = enc_dim
        self.decoder = Decoder(vocab_size, pred_dim, context_size, blank_id)
        self.joiner = Joiner(enc_dim, pred_dim, joiner_dim, vocab_size)
        self.ctc = nn.Linear(enc_dim, vocab_size) if ctc else None

    def pred_init(self, batch=1):
        c = self.hp["context_size"]
        y = torch.full((batch, c), self.hp["blank_id"], dtype=torch.long, device=self.encoder.cmvn_mean.device)
        return self.decoder(y)[:, -1]

    @torch.no_grad()
    def greedy(self, enc, lens):
        """Batched greedy search, max one symbol per encoder frame. enc [B, T, P] -> list of token lists."""
        b, t, _ = enc.shape
        c, blank = self.hp["context_size"], self.hp["blank_id"]
        ctx = torch.full((b, c), blank, dtype=torch.long, device=enc.device)
        pred = self.decoder(ctx)[:, -1]
        encp = self.joiner.enc_proj(enc)
        predp = self.joiner.pred_proj(pred)
        hyps = [[] for _ in range(b)]
        for i in range(t):
            logits = self.joiner.output(torch.tanh(encp[:, i] + predp))
            tok = logits.argmax(-1)
            emit = (tok != blank) & (i < lens)
            if emit.any():
                idx = emit.nonzero().squeeze(1)
                for j in idx.tolist():
                    hyps[j].append(int(tok[j]))
                ctx[idx] = torch.cat([ctx[idx, 1:], tok[idx, None]], 1)
                predp[idx] = self.joiner.pred_proj(self.decoder(ctx[idx])[:, -1])
        return hyps


# Tensors of an exported model file that the search reads, not the network (`docs/model-format.md`).
SEARCH_TENSORS = ("token_bigram",)


def load_network_weights(path):
    """The network's tensors of an exported `.safetensors` model file: its `state_dict()`, without the search tables
    (`export.py` rebuilds those from the training transcripts)."""
    from safetensors.torch import load_file
    return {k: v for k, v in load_file(str(path)).items() if k not in SEARCH_TENSORS}


def grow_encoder(weights, model):
    """Warm-start a deeper LSTM encoder from a shallower model's `weights` (issue 11's capacity pilot): the file's layers
    go to the bottom of the stack and each new top layer starts as (almost) the identity, so the grown model first
    computes what the file did and the new layers add capacity from there.

    Needs residual adds and post-layer LayerNorm: the file's last LayerNorm moves to the new top layer and the file's
    last layer gets a plain one (gain 1, bias 0), so the new layers see unit-scale activations z, and LayerNorm(z + h)
    = z while their output h stays near 0 — their output gates start almost shut (bias -4, sigmoid 0.018) and open as
    they learn. Returns the state dict to load (file tensors + new layers at their initialization)."""
    enc = model.encoder
    if getattr(enc, "lookahead_chunk", 0) and not any(k.startswith("encoder.look.") for k in weights):
        return add_lookahead(weights, model)
    have = 1 + max(int(k.split(".")[2]) for k in weights if k.startswith("encoder.lstm."))
    want = len(enc.lstm)
    if want <= have:
        return weights
    if not (enc.residual and enc.norm is not None):
        raise ValueError("growing an encoder needs residual adds and LayerNorm")
    sd = _top_norm_moved(weights, model, have - 1, f"encoder.norm.{want - 1}")
    for i in range(have, want):
        _shut_output_gate(sd, f"encoder.lstm.{i}", enc.lstm[i].hidden_size)
        for k in ("weight", "bias"):
            if i < want - 1:  # a middle new layer (growing by more than one) passes z on unchanged
                sd[f"encoder.norm.{i}.{k}"] = torch.ones_like(sd[f"encoder.norm.{i}.{k}"]) if k == "weight" \
                    else torch.zeros_like(sd[f"encoder.norm.{i}.{k}"])
    return sd


def add_lookahead(weights, model):
    """Warm-start a model with the chunked look-ahead layer from a file without it, as `grow_encoder` grows a layer:
    the file's last LayerNorm affine moves to the new layer's LayerNorm, the file's last LayerNorm becomes plain, and
    the new LSTM's output gate starts almost shut, so the model first computes what the file did."""
    sd = _top_norm_moved(weights, model, len(model.encoder.lstm) - 1, "encoder.look_norm")
    _shut_output_gate(sd, "encoder.look", model.encoder.look.hidden_size)
    return sd


def _top_norm_moved(weights, model, top, new_norm):
    """The state dict to load when new layers go on top of the file's: the model's fresh initialization, then the
    file's tensors, with the affine of the file's top LayerNorm (`encoder.norm.{top}`) moved to `new_norm` and the
    top one made plain (gain 1, bias 0)."""
    sd = {k: v.clone() for k, v in model.state_dict().items()}
    sd.update(weights)
    for k in ("weight", "bias"):
        sd[f"{new_norm}.{k}"] = weights[f"encoder.norm.{top}.{k}"].clone()
    sd[f"encoder.norm.{top}.weight"] = torch.ones_like(weights[f"encoder.norm.{top}.weight"])
    sd[f"encoder.norm.{top}.bias"] = torch.zeros_like(weights[f"encoder.norm.{top}.bias"])
    return sd


def _shut_output_gate(sd, lstm, h):
    """A new LSTM's output gate (order i, f, g, o) starts almost shut (sigmoid(-4) = 0.018), so it adds little at
    first and opens as it learns."""
    sd[f"{lstm}.bias_ih_l0"][3 * h: 4 * h] = -4.0
    sd[f"{lstm}.bias_hh_l0"][3 * h: 4 * h] = 0.0


if __name__ == "__main__":
    # Self-check of grow_encoder (`python model.py`): a 4-layer encoder grown from a random trained-like 3-layer one
    # computes nearly what it did, keeps the file's tensors, and trains its new layer.
    torch.manual_seed(0)
    hp = dict(feat_dim=80, stack=8, num_layers=3, hidden=64, proj=0, residual=True, layer_norm=True)
    small = Transducer(**hp, pred_dim=32, joiner_dim=32, vocab_size=16)
    with torch.no_grad():  # LayerNorm affines away from (1, 0), as training leaves them
        for n in small.encoder.norm:
            n.weight.uniform_(0.5, 1.5)
            n.bias.uniform_(-0.3, 0.3)
    big = Transducer(**dict(hp, num_layers=4), pred_dim=32, joiner_dim=32, vocab_size=16)
    missing, unexpected = big.load_state_dict(grow_encoder(small.state_dict(), big), strict=False)
    assert not missing and not unexpected, (missing, unexpected)
    for k in ("encoder.lstm.0.weight_ih_l0", "encoder.lstm.2.weight_hh_l0", "joiner.output.weight"):
        assert torch.equal(big.state_dict()[k], small.state_dict()[k]), k
    x, lens = torch.randn(2, 400, 80), torch.tensor([400, 320])
    with torch.no_grad():
        a, _ = small.encoder(x, lens)
        b, _ = big.encoder(x, lens)
    rel = float((a - b).norm() / a.norm())
    assert rel < 0.05, f"grown encoder differs by {rel:.3f}"
    plain = Transducer(**dict(hp, num_layers=4), pred_dim=32, joiner_dim=32, vocab_size=16)
    with torch.no_grad():
        c, _ = plain.encoder(x, lens)
    assert float((a - c).norm() / a.norm()) > 0.5, "the check cannot tell a grown encoder from a random one"
    b, _ = big.encoder(x, lens)
    b.square().mean().backward()
    assert float(big.encoder.lstm[3].weight_hh_l0.grad.abs().sum()) > 0, "the new layer gets no gradient"
    print(f"grow_encoder: 3 -> 4 layers, encoder output within {100 * rel:.2f} % of the original")
