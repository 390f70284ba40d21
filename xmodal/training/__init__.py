"""Training and evaluation of one experiment: :func:`run_experiment` is the single entry point.

The notebook, the CLI (``xmodal train``), ``python -m xmodal.training`` (also under
``torchrun``), the teaching helpers and the tests all call :func:`run_experiment`, which
returns a :class:`~xmodal.rundir.Result` and writes the run folder ``out_dir`` through :class:`~xmodal.rundir.RunDir`
(every file atomically, see :mod:`xmodal.atomic`):

* the checkpoint -- after every epoch: weights, optimiser, epoch, RNG state,
  history; slimmed to the weights once the run is complete;
* the :class:`~xmodal.rundir.Predictions` -- test ids, soft labels and class
  probabilities per modality;
* the :class:`~xmodal.rundir.Latents` -- latent vectors of the first
  ``n_latent`` test patches of every modality (the same ids for every modality,
  so pairs can be connected);
* the :class:`~xmodal.rundir.Result` -- config, hash, data description, metrics,
  homogeneity, history, timings, versions (written last).

Training (Sec. 2 of the paper):

* **baseline**: one modality, the same network, classification loss only.
* **C, C+M, C+T, C+T+M**: all configured modalities. Every step draws an
  *independent* batch of ``batch_size`` patches per modality (independent
  shuffles, no alignment: the paper does not need aligned pairs), each batch
  with its own soft labels, and minimises
  ``alpha * L_T + beta * L_C - L_M`` (eq. 4, :func:`total_loss`) where present; the minus sign of
  ``L_M`` is the gradient reversal layer in front of the modality classifier,
  its weight following ``grl_schedule`` over training progress (updated every
  step). With another ``alignment`` (:data:`xmodal.losses.ALIGNMENTS`, named
  ablations) the reversal weight stays 0, the modality classifier learns on the
  latents alone, and ``- L_M`` becomes ``+ w L_align`` for the encoders
  (:func:`alignment_loss`), ``w`` on the same schedule. ``L_T`` (eq. 3, mean over valid anchors, see
  :func:`xmodal.losses.triplet_loss`) runs over every *ordered* pair of
  modalities ``(a, b)``: anchors from ``a``, positive and hard negative from ``b``
  (:func:`xmodal.losses.mine_triplets`), with distances between latent vectors
  scaled to unit length (:data:`TRIPLET_NORMALIZE`: the raw reading collapses the
  latent space).
* Methods without ``M`` still train the modality classifier, as a *probe*, with
  reversal weight 0: no gradient reaches the encoders, but the logged ``L_M``
  shows how well the modality can be told from the latent vector in every
  method (``ln 2 = 0.693`` means "not at all" for two modalities). Likewise
  ``L_T`` is computed and logged for every method but only trained with ``T``.
* The adversary is recorded: every epoch's history holds the modality classifier's
  training accuracy (``modality_accuracy``, argmax against the true sensor, averaged
  over the steps like the losses) and, at the end of the epoch, ``probe_accuracy``:
  a fresh linear probe (:func:`xmodal.analysis.latent.modality_probe`, folds grouped
  by patch) on the latents of a fixed set of up to :data:`PROBE_PATCHES` test patches
  per sensor, and the seconds it took (``probe_seconds``). A flipped code fools the
  modality classifier (``L_M`` above ``ln M``, accuracy below chance) but not the
  probe. The probe runs after every other epoch (the 1st, 3rd, ...) and the last for
  the methods with ``M`` (whose adversary it watches), and after the last epoch only for
  the others (C, C+T): a probe costs about a tenth of a second, which a study of many
  short runs feels. Single-sensor runs record neither.
* ``pairing`` says which patches the modalities train on: ``"aligned"``, the
  same training split for every modality (each place seen by every sensor, in
  different batches); ``"disjoint"``, the training scenes partitioned between the
  modalities (:func:`xmodal.data.splits.partition_scenes`): no place is seen by
  two sensors. The losses need nothing else: ``L_C`` reads each batch's own
  labels, ``L_T`` relates the modalities' batches by their labels alone, ``L_M``
  by the sensor. The test split stays aligned. :func:`train_on_datasets` refuses
  ``"disjoint"`` training sets that share a patch or a scene, and the result's data
  records the training scenes per modality and how many they share.
* An epoch is ``ceil(n_max / batch_size)`` steps, ``n_max`` the largest
  training set among the modalities, or ``steps_per_epoch`` steps when that is
  set (a fixed optimisation budget, so that runs on training sets of different
  sizes differ only in their data); a modality's sampler reshuffles and
  continues when it runs out, so every batch is full.

Runtime: seeded and deterministic on CPU, device ``auto`` (CUDA when present),
fp32 / bf16 autocast / fp16 autocast with a gradient scaler (CUDA only),
optional channels_last, ``torch.set_num_threads(threads)``, DataLoader workers,
tqdm progress. Under ``torchrun`` (``WORLD_SIZE > 1``) it joins a process group
(gloo on CPU, nccl on CUDA), wraps the network in DistributedDataParallel, shards
every modality with a :class:`~torch.utils.data.DistributedSampler` (each rank
takes ``ceil(batch_size / world_size)`` of every step's batch) and only rank 0
writes files.

The package, by role (each module imports only from those above it):

* :mod:`~xmodal.training.objective` -- eq. (4): the loss terms of a step and their sum;
* :mod:`~xmodal.training.runtime` -- device, processes (``torchrun``), precision, threads;
* :mod:`~xmodal.training.batches` -- the dataset contract and the per-modality batch streams;
* :mod:`~xmodal.training.loop` -- network and optimiser, the step, the epoch, the probe;
* :mod:`~xmodal.training.validation` -- the validation score after every epoch, early stopping;
* :mod:`~xmodal.training.checkpoint` -- save, resume, a damaged checkpoint set aside;
* :mod:`~xmodal.training.evaluation` -- predictions, scores, loading a trained network;
* :mod:`~xmodal.training.run` -- :func:`run_experiment`, :func:`train_on_datasets`, the
  result, :func:`read_split` (how a run reads its data) and :func:`identified_config` (what
  every entry point does to a config first);
* :mod:`~xmodal.training.first_step` -- the first batch and the loss terms of the first step,
  which the experiment notebook shows before the long run;
* ``python -m xmodal.training`` (:mod:`xmodal.training.__main__`) -- the command line: it is
  ``xmodal train`` (:mod:`xmodal.cli`), the form ``torchrun`` starts.
"""

from xmodal.training.batches import EVAL_BATCH_SIZE, PatchDataset
from xmodal.training.checkpoint import DamagedCheckpointWarning, ResumeError
from xmodal.training.evaluation import evaluate, load_model, predict
from xmodal.training.first_step import first_step, loss_terms
from xmodal.training.loop import PROBE_PATCHES, build_model, learning_rate, make_optimizer, train_step
from xmodal.training.objective import TRIPLET_NORMALIZE, LossRecord, alignment_loss, total_loss
from xmodal.training.run import identified_config, read_split, run_experiment, train_on_datasets
from xmodal.training.validation import VALIDATION_METRIC, best_epoch, should_stop, validation_score

__all__ = [
    "EVAL_BATCH_SIZE",
    "PROBE_PATCHES",
    "TRIPLET_NORMALIZE",
    "VALIDATION_METRIC",
    "DamagedCheckpointWarning",
    "LossRecord",
    "PatchDataset",
    "ResumeError",
    "alignment_loss",
    "best_epoch",
    "build_model",
    "evaluate",
    "first_step",
    "identified_config",
    "learning_rate",
    "load_model",
    "loss_terms",
    "make_optimizer",
    "predict",
    "read_split",
    "run_experiment",
    "should_stop",
    "total_loss",
    "train_on_datasets",
    "train_step",
    "validation_score",
]
