"""The `rnnt-lstm-stateless` transducer of docs/model-format.md. state_dict keys == safetensors tensor names."""

import torch
from torch import nn
import torch.nn.functional as F


class Encoder(nn.Module):
    """CMVN -> stack S frames -> L one-layer LSTMs, each optionally followed by a residual add (layers > 0) and a
    LayerNorm. Causal: zero initial state, no look-ahead."""

    def __init__(self, feat_dim, stack, num_layers, hidden, proj, dropout=0.0, residual=False, layer_norm=False):
        super().__init__()
        self.stack = stack
        self.residual = residual
        self.register_buffer("cmvn_mean", torch.zeros(feat_dim))
        self.register_buffer("cmvn_istd", torch.ones(feat_dim))
        out = proj if proj > 0 else hidden
        dims = [stack * feat_dim] + [out] * (num_layers - 1)
        self.lstm = nn.ModuleList(nn.LSTM(d, hidden, proj_size=proj, batch_first=True) for d in dims)
        # Post-layer LayerNorm (+ residual) keeps a deep LSTM stack's activations at unit scale: it trains faster.
        self.norm = nn.ModuleList(nn.LayerNorm(out) for _ in dims) if layer_norm else None
        self.dropout = nn.Dropout(dropout)
        with torch.no_grad():  # forget-gate bias 1 (gate order i, f, g, o): remember by default early in training
            for l in self.lstm:
                l.bias_ih_l0[hidden: 2 * hidden].fill_(1.0)
                l.bias_hh_l0[hidden: 2 * hidden].zero_()

    def normalize(self, feats):
        return (feats - self.cmvn_mean) * self.cmvn_istd

    def forward(self, x, lens, normalized=False):
        """x: [B, T, F] fbank (raw unless `normalized`), lens: [B] frames -> ([B, T//S, P], lens // S)."""
        if not normalized:
            x = self.normalize(x)
        b, t, f = x.shape
        t2 = t // self.stack
        x = x[:, : t2 * self.stack].reshape(b, t2, self.stack * f)
        for i, l in enumerate(self.lstm):
            if i > 0:
                x = self.dropout(x)
            y, _ = l(x)
            if self.residual and i > 0:
                y = y + x
            x = self.norm[i](y) if self.norm is not None else y
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
                 joiner_dim=256, vocab_size=256, blank_id=0, ctc=True, dropout=0.0, residual=False, layer_norm=False):
        super().__init__()
        self.hp = dict(feat_dim=feat_dim, stack=stack, num_layers=num_layers, hidden=hidden, proj=proj,
                       pred_dim=pred_dim, context_size=context_size, joiner_dim=joiner_dim,
                       vocab_size=vocab_size, blank_id=blank_id, ctc=ctc, residual=residual, layer_norm=layer_norm)
        enc_dim = proj if proj > 0 else hidden
        self.encoder = Encoder(feat_dim, stack, num_layers, hidden, proj, dropout, residual, layer_norm)
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
