"""Every session-state key MLP Lens reads or writes, in one place.

Widget keys that no code reads back stay next to their widget (``key="export_png"``);
the keys here are those the code reads or writes through ``st.session_state``.
"""

# The sidebar (ui/sidebar.py): the settings survive page switches here, not in the widgets.
PARAMS = "mlp_lens_params"  # the sidebar's values, by TrainParams field name
WIDGET_GENERATIONS = "mlp_lens_widget_generations"  # "sb_alpha" -> times that copy was made anew
URL_NOTICES = "mlp_lens_url_notices"  # (values from the link, what was wrong with it)
LINK_SLOT = "mlp_lens_link_slot"  # where the sidebar shows the link, this run
ADVANCED_OPEN = "sb_advanced"  # the Advanced section's open state (a fix may open it)
PAGE_SETTINGS = "mlp_lens_page_settings"  # a page's own choices (ui/kept.py) -> defaults, for Reset
KEPT_GENERATIONS = "mlp_lens_kept_generations"  # a page's choice -> times its widget was made anew
# Each setting's widget is "sb_<name>" in the sidebar and "qs_<name>" in the page's quick settings,
# with "_<n>" added once the copy has been made anew n times (ui.sidebar._store says why).

# Watching a network learn (ui/live.py).
RUN = "mlp_lens_run"  # the job (core.jobs.Job) this session watches
STOPPED = "mlp_lens_stopped"  # the partial TrainResult the person stopped
SESSION = "mlp_lens_session"  # this session's id, for the runs it watches

# Where trainings run (ui/render.py).
TRAININGS_NOTICE = "mlp_lens_trainings_notice"  # core.jobs.backend_notice() as last shown here

# Compare (ui/compare.py).
# The choices below whose widget is "<key>_<n>" are kept apart from it (ui/kept.py).
VARY = "cmp_vary"  # the setting the networks differ in (random_state: seeds)
SEEDS = "cmp_seeds_text"  # the seed list as typed (kept across pages and in the URL)
VALUES = "cmp_values_"  # + a setting's name: its values as typed or picked (random_state: SEEDS)
COMPARE_WRITTEN = "cmp_written"  # the comparison as the page last put it in the URL
COMPARE_LINK_NOTICES = "cmp_link_notices"  # (setting, values, what was wrong in the link)
SEED_TRAINING = "cmp_training"  # (settings, comparison, SeedTraining) of the networks training
REPLAY_ALL_SEEDS = "cmp_epoch"  # the epoch slider that replays every seed at once

# Replaying a finished training (ui/replay.py).
REPLAY_EPOCH = "replay_epoch"  # the epoch slider under the weight grid
REPLAY_NETWORK = "replay_network"  # the TrainParams the slider was set for (another: its end)

# The hidden layer's map (ui/hidden_map.py).
MAP_METHOD = "hidden_map_method"  # "pca" or "tsne", also in the URL as map=tsne

# Drawing a digit (ui/draw.py).
DRAWING_CLEARED = "draw_cleared"  # times the drawing was cleared: each time, a new canvas

# The data page (ui/dataview.py).
CONFIRM_CLEAR = "data_confirm_clear"  # the person asked to clear the caches; confirm

# Pictures and fixes (ui/colours.py, ui/render.py).
WEIGHT_STYLE = "mlp_lens_weight_style"  # the chosen WeightStyle (colours and scale)
FIX = "mlp_lens_fix"  # the network before a one-click fix, to show what the fix did

# Sweeps (ui/sweep.py).
SWEEP_RUN = "sw_run"  # this session's SweepRun: one running sweep per visitor
SWEEP_ENGINE = "sw_engine_choice"  # "local": the visitor chose local processes over the cluster
