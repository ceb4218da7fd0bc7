;;; emacs_init.el --- Emacs + eglot + agentls for the documentation screenshot -*- lexical-binding: t -*-

;; Loaded by `emacs -nw -q -l emacs_init.el FILE' inside tmux (make_screenshots.py).  Sets Emacs
;; up as a user's init would (eglot pointed at agentls) and reports to $AGENTLS_SHOT_EVENTS, one
;; JSON object per line, so the script knows when to type and when to capture:
;;   {"event": "ready"}                      eglot is connected, point on the instruction comment
;;   {"event": "prompt", "prompt": "..."}    a minibuffer prompt opened
;;   {"event": "state", "buffer": ..., "messages": ...}   on <f5>, silently
;; Unlike tests/editors/emacs/turn_driver.el nothing here quits Emacs.

(require 'json)
(require 'cl-lib)
(setq native-comp-async-report-warnings-errors 'silent
      native-comp-deferred-compilation nil
      warning-minimum-level :error)
(when (file-directory-p "/usr/share/emacs/site-lisp/elpa")
  (add-to-list 'package-directory-list "/usr/share/emacs/site-lisp/elpa"))
(package-initialize)
(require 'eglot)

(setq make-backup-files nil
      auto-save-default nil
      create-lockfiles nil
      inhibit-startup-screen t
      frame-background-mode 'dark
      max-mini-window-height 0.5)
(menu-bar-mode -1)
;; A darker mode line than the tty default (grey75), so eglot's indicator stays legible.
(set-face-attribute 'mode-line nil :background "grey27" :foreground "grey90")
(mapc #'frame-set-background-mode (frame-list))
(column-number-mode 1)

(add-to-list 'eglot-server-programs
             `(python-mode . (,(getenv "AGENTLS_CMD") :initializationOptions (:maxTurns 8))))

(defvar agentls-shot-events (getenv "AGENTLS_SHOT_EVENTS"))
(defvar agentls-shot-buffer nil)

(defun agentls-shot-emit (object)
  (with-temp-buffer
    (insert (json-encode object) "\n")
    (write-region (point-min) (point-max) agentls-shot-events t 'silent)))

(defun agentls-shot-report ()
  "Bound to <f5>, which the script presses while the agent works (eglot 1.9 sends the didChange
of a server-applied edit only once Emacs reads input again)."
  (interactive)
  (agentls-shot-emit
   `((event . "state")
     (buffer . ,(if (buffer-live-p agentls-shot-buffer)
                    (with-current-buffer agentls-shot-buffer
                      (buffer-substring-no-properties (point-min) (point-max)))
                  ""))
     (messages . ,(with-current-buffer (messages-buffer)
                    (buffer-substring-no-properties (point-min) (point-max))))
     (eglot_events . ,(let ((b (cl-find-if (lambda (b) (string-match-p "EGLOT .* events" (buffer-name b)))
                                            (buffer-list))))
                        (if b (with-current-buffer b
                                (buffer-substring-no-properties (max (point-min) (- (point-max) 6000))
                                                                (point-max)))
                          ""))))))

(global-set-key (kbd "<f5>") #'agentls-shot-report)

(add-hook 'minibuffer-setup-hook
          (lambda () (agentls-shot-emit `((event . "prompt") (prompt . ,(or (minibuffer-prompt) ""))))))

(defun agentls-shot-wait-ready ()
  (if (with-current-buffer agentls-shot-buffer
        (and (eglot-current-server) (bound-and-true-p eglot--managed-mode)))
      (progn
        (with-current-buffer agentls-shot-buffer
          (goto-char (point-min))
          (search-forward "agent:")
          (back-to-indentation))
        (agentls-shot-emit '((event . "ready"))))
    (run-at-time 0.1 nil #'agentls-shot-wait-ready)))

(defun agentls-shot-start ()
  (setq agentls-shot-buffer (find-file (getenv "AGENTLS_SHOT_FILE")))
  (switch-to-buffer agentls-shot-buffer)
  (delete-other-windows)
  (unless (derived-mode-p 'python-mode) (python-mode))
  (call-interactively #'eglot)
  (agentls-shot-wait-ready))

(run-at-time 0 nil #'agentls-shot-start)

;;; emacs_init.el ends here
