;;; turn_driver.el --- one agentls turn in a real Emacs + eglot, with no agentls plugin -*- lexical-binding: t -*-

;; Loaded by `emacs -nw -Q -l turn_driver.el' under a pseudo-terminal (eglot needs the command
;; loop: in --batch its didChange never goes out).  This file only sets Emacs up like a user's
;; init would (eglot pointed at agentls, nothing else changed) and reports what happens; the
;; test types the user's keys into the terminal: M-x eglot-code-actions, the action, the
;; permission answer in eglot's showMessageRequest prompt, and "y" to eglot's own confirmation
;; of server edits.
;;
;; Reports go to $AGENTLS_TEST_EVENTS, one JSON object per line:
;;   {"event": "ready"}                      eglot is connected, point on the instruction comment
;;   {"event": "prompt", "prompt": "..."}    a minibuffer prompt opened
;;   {"event": "state", ...}                 on <f5>: the buffer, *Messages*, eglot's events
;;   {"event": "done", "ok": ...}            on <f5> once the buffer reached the expected text

(require 'json)
(require 'cl-lib)
;; Debian's elpa-eglot lives here; site-start adds it too, but be independent of that.
(when (file-directory-p "/usr/share/emacs/site-lisp/elpa")
  (add-to-list 'package-directory-list "/usr/share/emacs/site-lisp/elpa"))
(package-initialize)
(defvar agentls-test-load-error
  (condition-case err (progn (require 'eglot) nil) (error (format "cannot load eglot: %S" err))))

(defvar agentls-test-events (getenv "AGENTLS_TEST_EVENTS"))
(defvar agentls-test-file (getenv "AGENTLS_TEST_FILE"))
(defvar agentls-test-expected (getenv "AGENTLS_TEST_EXPECTED"))
(defvar agentls-test-reply (getenv "AGENTLS_TEST_REPLY"))
(defvar agentls-test-timeout (string-to-number (or (getenv "AGENTLS_TEST_TIMEOUT_S") "180")))
(defvar agentls-test-finished nil)
(defvar agentls-test-buffer nil)

(setq make-backup-files nil
      auto-save-default nil
      create-lockfiles nil
      inhibit-startup-screen t)

(add-to-list 'eglot-server-programs
             `(python-mode . (,(getenv "AGENTLS_CMD") :initializationOptions (:maxTurns 8))))

(defun agentls-test-emit (object)
  (with-temp-buffer
    (insert (json-encode object) "\n")
    (write-region (point-min) (point-max) agentls-test-events t 'silent)))

(defun agentls-test-buffer-text (name)
  (let ((buffer (get-buffer name)))
    (if buffer (with-current-buffer buffer (buffer-substring-no-properties (point-min) (point-max))) "")))

(defun agentls-test-tail (text n)
  (if (> (length text) n) (substring text (- (length text) n)) text))

(defun agentls-test-state ()
  "What the test checks: the edited buffer, *Messages*, eglot's event log."
  (let ((events (cl-find-if (lambda (b) (string-match-p "\\`\\*EGLOT .* events\\*\\'" (buffer-name b)))
                            (buffer-list))))
    `((buffer . ,(if (buffer-live-p agentls-test-buffer)
                     (with-current-buffer agentls-test-buffer
                       (buffer-substring-no-properties (point-min) (point-max)))
                   ""))
      (modified . ,(if (and (buffer-live-p agentls-test-buffer) (buffer-modified-p agentls-test-buffer))
                       t :json-false))
      (messages . ,(agentls-test-buffer-text "*Messages*"))
      (eglot_events . ,(agentls-test-tail (if events (agentls-test-buffer-text events) "") 12000))
      (emacs . ,emacs-version))))

(defun agentls-test-finish (ok why)
  (unless agentls-test-finished
    (setq agentls-test-finished t)
    (agentls-test-emit `((event . "done") (ok . ,(if ok t :json-false)) (why . ,(or why ""))
                         ,@(condition-case err (agentls-test-state)
                             (error `((state_error . ,(format "%S" err)))))))
    (kill-emacs (if ok 0 1))))

(defun agentls-test-report ()
  "Bound to <f5>, which the test presses while it waits: report the state, and finish once the
edited buffer holds the expected text and the answer was shown.  (A key, not a timer: timers
stop running here once eglot has prompted from inside its process filter.)"
  (interactive)
  (condition-case err
      (let ((state (agentls-test-state)))
        (if (and (string= (alist-get 'buffer state) agentls-test-expected)
                 (string-match-p (regexp-quote agentls-test-reply) (alist-get 'messages state)))
            (agentls-test-finish t nil)
          (agentls-test-emit `((event . "state") ,@state))))
    (error (agentls-test-finish nil (format "error while reporting: %S" err)))))

(global-set-key (kbd "<f5>") #'agentls-test-report)

(add-hook 'minibuffer-setup-hook
          (lambda ()
            (agentls-test-emit `((event . "prompt") (prompt . ,(or (minibuffer-prompt) ""))))))

(run-at-time agentls-test-timeout nil
             (lambda () (agentls-test-finish nil (format "timed out after %s s" agentls-test-timeout))))

(defun agentls-test-wait-ready ()
  (if (and (buffer-live-p agentls-test-buffer)
           (with-current-buffer agentls-test-buffer
             (and (eglot-current-server) (bound-and-true-p eglot--managed-mode))))
      (progn
        (with-current-buffer agentls-test-buffer
          (goto-char (point-min))
          (search-forward "agent:")
          (beginning-of-line))
        (agentls-test-emit '((event . "ready"))))
    (run-at-time 0.1 nil #'agentls-test-wait-ready)))

(defun agentls-test-start ()
  (condition-case err
      (progn
        (setq agentls-test-buffer (find-file agentls-test-file))
        (switch-to-buffer agentls-test-buffer)
        (delete-other-windows)
        (unless (derived-mode-p 'python-mode) (python-mode))
        (call-interactively #'eglot)
        (agentls-test-wait-ready))
    (error (agentls-test-finish nil (format "could not start eglot: %S" err)))))

(if agentls-test-load-error
    (run-at-time 0 nil (lambda () (agentls-test-finish nil agentls-test-load-error)))
  (run-at-time 0 nil #'agentls-test-start))

;;; turn_driver.el ends here
