"""Reproducer: IREE 3.10's data tiling (--iree-opt-data-tiling=true) computes
a causally masked attention block wrongly on llvm-cpu.

The block (projection, heads, q·kᵀ, additive causal mask, softmax, p·v) is
exact without data tiling (max |error| ~1e-6 against numpy) and off by
~0.2 with it; the same block without the mask is exact either way, so the
large negative mask entries (-inf or f32::MIN) are what goes wrong. The
wrong path is the dispatch-creation one (--iree-opt-data-tiling=true picks
it, as does --iree-dispatch-creation-data-tiling); the global-optimization
path (--iree-global-opt-data-tiling), which irex uses, is exact.
Run: .venv/bin/python scripts/repro/iree_data_tiling_mask.py
"""
import numpy as np, subprocess
import os, tempfile
B=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".irex-toolchain", "bin")
os.chdir(tempfile.mkdtemp())
F=["--iree-hal-target-device=local","--iree-hal-local-target-device-backends=llvm-cpu","--iree-llvmcpu-target-cpu=host"]
H,S,D,E=9,64,64,576
text=f"""func.func @main(%x: tensor<1x{S}x{E}xf32>, %wq: tensor<{E}x{E}xf32>) -> tensor<1x{S}x{E}xf32> {{
  %q0 = stablehlo.dot_general %x, %wq, contracting_dims = [2] x [1] : (tensor<1x{S}x{E}xf32>, tensor<{E}x{E}xf32>) -> tensor<1x{S}x{E}xf32>
  %q1 = stablehlo.reshape %q0 : (tensor<1x{S}x{E}xf32>) -> tensor<1x{S}x{H}x{D}xf32>
  %q = stablehlo.transpose %q1, dims = [0, 2, 1, 3] : (tensor<1x{S}x{H}x{D}xf32>) -> tensor<1x{H}x{S}x{D}xf32>
  %s = stablehlo.dot_general %q, %q, batching_dims = [0, 1] x [0, 1], contracting_dims = [3] x [3] : (tensor<1x{H}x{S}x{D}xf32>, tensor<1x{H}x{S}x{D}xf32>) -> tensor<1x{H}x{S}x{S}xf32>
  %r = stablehlo.iota dim = 0 : tensor<{S}x{S}xi32>
  %c = stablehlo.iota dim = 1 : tensor<{S}x{S}xi32>
  %ok = stablehlo.compare LE, %c, %r : (tensor<{S}x{S}xi32>, tensor<{S}x{S}xi32>) -> tensor<{S}x{S}xi1>
  %z = stablehlo.constant dense<0.0> : tensor<{S}x{S}xf32>
  %n = stablehlo.constant dense<0xFF800000> : tensor<{S}x{S}xf32>
  %m = stablehlo.select %ok, %z, %n : (tensor<{S}x{S}xi1>, tensor<{S}x{S}xf32>, tensor<{S}x{S}xf32>) -> tensor<{S}x{S}xf32>
  %mb = stablehlo.broadcast_in_dim %m, dims = [2, 3] : (tensor<{S}x{S}xf32>) -> tensor<1x{H}x{S}x{S}xf32>
  %sm = stablehlo.add %s, %mb : tensor<1x{H}x{S}x{S}xf32>
  %i = stablehlo.constant dense<0xFF800000> : tensor<f32>
  %mx = stablehlo.reduce(%sm init: %i) applies stablehlo.maximum across dimensions = [3] : (tensor<1x{H}x{S}x{S}xf32>, tensor<f32>) -> tensor<1x{H}x{S}xf32>
  %mxb = stablehlo.broadcast_in_dim %mx, dims = [0, 1, 2] : (tensor<1x{H}x{S}xf32>) -> tensor<1x{H}x{S}x{S}xf32>
  %sh = stablehlo.subtract %sm, %mxb : tensor<1x{H}x{S}x{S}xf32>
  %e = stablehlo.exponential %sh : tensor<1x{H}x{S}x{S}xf32>
  %zero = stablehlo.constant dense<0.0> : tensor<f32>
  %su = stablehlo.reduce(%e init: %zero) applies stablehlo.add across dimensions = [3] : (tensor<1x{H}x{S}x{S}xf32>, tensor<f32>) -> tensor<1x{H}x{S}xf32>
  %sub = stablehlo.broadcast_in_dim %su, dims = [0, 1, 2] : (tensor<1x{H}x{S}xf32>) -> tensor<1x{H}x{S}x{S}xf32>
  %p = stablehlo.divide %e, %sub : tensor<1x{H}x{S}x{S}xf32>
  %o = stablehlo.dot_general %p, %q, batching_dims = [0, 1] x [0, 1], contracting_dims = [3] x [2] : (tensor<1x{H}x{S}x{S}xf32>, tensor<1x{H}x{S}x{D}xf32>) -> tensor<1x{H}x{S}x{D}xf32>
  %ot = stablehlo.transpose %o, dims = [0, 2, 1, 3] : (tensor<1x{H}x{S}x{D}xf32>) -> tensor<1x{S}x{H}x{D}xf32>
  %of = stablehlo.reshape %ot : (tensor<1x{S}x{H}x{D}xf32>) -> tensor<1x{S}x{E}xf32>
  return %of : tensor<1x{S}x{E}xf32>
}}"""
open("attn.mlir","w").write(text)
rng=np.random.default_rng(0)
x=rng.standard_normal((1,S,E)).astype(np.float32)*0.1; w=rng.standard_normal((E,E)).astype(np.float32)*0.1
np.save("x.npy",x); np.save("w.npy",w)
q=np.einsum('bsk,nk->bsn',x,w).reshape(1,S,H,D).transpose(0,2,1,3)
s=np.einsum('bhsd,bhtd->bhst',q,q); mask=np.where(np.arange(S)[None,:]<=np.arange(S)[:,None],0,-np.inf); s=s+mask
p=np.exp(s-s.max(-1,keepdims=True)); p/=p.sum(-1,keepdims=True)
want=np.einsum('bhst,bhtd->bhsd',p,q).transpose(0,2,1,3).reshape(1,S,E)
for flags in [[],["--iree-opt-data-tiling=true"],["--iree-dispatch-creation-data-tiling"],["--iree-global-opt-data-tiling"]]:
    subprocess.run([f"{B}/iree-compile",*F,*flags,"attn.mlir","-o","attn.vmfb"],check=True)
    subprocess.run([f"{B}/iree-run-module","--device=local-task","--module=attn.vmfb","--function=main","--input=@x.npy","--input=@w.npy","--output=@out.npy"],check=True,stdout=subprocess.DEVNULL)
    print(flags, float(np.nanmax(np.abs(np.load("out.npy")-want))))
