;;; eglot_driver.el --- end-to-end check of torchwire in a real Emacs with eglot  -*- lexical-binding: t -*-
;;
;;   emacs --batch -l tests/editors/eglot_driver.el
;;
;; Written for Emacs 28 with Debian's elpa-eglot (1.9).  Environment (set by tests/test_editors.py):
;;   TW_SERVER          the server command as a JSON list, e.g. ["torchwire", "serve", "--stdio"]
;;   TW_FILE            the Python file to open (edited and saved in place)
;;   TW_LINE            0-based line of the expected TW101 diagnostic
;;   TW_MESSAGE_START   what the diagnostic's message starts with
;;   TW_HOVER_LINE      0-based line holding `self.layers'
;;   TW_HOVER_FIRST     the exact first line of the hover (plain text: eglot without
;;                      markdown-mode asks for it)
;;   TW_ACTION_PREFIX   the title prefix of the code action to apply
;;   TW_TIMEOUT_MS      per-step timeout (default 10000)
;; Exit 0 when every check passed; otherwise the failure is printed on stderr and the exit code
;; is non-zero (3: a check failed, 4: the whole run took too long).

(require 'package)
(package-initialize)                    ; activates the system's elpa eglot
(require 'eglot)
(require 'json)
(require 'subr-x)

(set-language-environment "UTF-8")
(prefer-coding-system 'utf-8)
(setq make-backup-files nil
      create-lockfiles nil
      auto-save-default nil
      python-indent-guess-indent-offset nil)

(defvar tw-started (float-time))
(defvar tw-timeout (/ (string-to-number (or (getenv "TW_TIMEOUT_MS") "10000")) 1000.0))
(setq eglot-sync-connect tw-timeout
      eglot-connect-timeout tw-timeout
      jsonrpc-default-request-timeout tw-timeout)

(defun tw-log (fmt &rest args)
  (message "[emacs %6.0f ms] %s" (* 1000 (- (float-time) tw-started)) (apply #'format fmt args)))

(defun tw-env (name)
  (let ((value (getenv name)))
    (if (and value (not (string-empty-p value))) value
      (error "missing environment variable %s" name))))

(defun tw-check (condition fmt &rest args)
  (unless condition (signal 'error (list (apply #'format fmt args)))))

(defun tw-wait (what predicate)
  "Process events until PREDICATE is true, or fail after `tw-timeout' seconds."
  (let ((deadline (+ (float-time) tw-timeout)))
    (while (and (not (funcall predicate)) (< (float-time) deadline))
      (accept-process-output nil 0.02))
    (tw-check (funcall predicate) "timed out after %.0f s waiting for %s" tw-timeout what)))

(defun tw-goto (line)
  "Go to the start of 0-based LINE."
  (goto-char (point-min))
  (forward-line line))

(defun tw-lsp-diagnostic (diag)
  (cdr (assoc 'eglot-lsp-diag (flymake-diagnostic-data diag))))

;; Nothing below may hang: a watchdog ends the run (timers fire inside accept-process-output).
(run-at-time (/ (string-to-number (or (getenv "TW_RUN_TIMEOUT_MS") "20000")) 1000.0) nil
             (lambda () (tw-log "FAIL: the run took too long") (kill-emacs 4)))

(defun tw-main ()
  (let* ((command (append (json-parse-string (tw-env "TW_SERVER") :array-type 'list) nil))
         (file (tw-env "TW_FILE"))
         (line (string-to-number (tw-env "TW_LINE")))
         (message-start (tw-env "TW_MESSAGE_START"))
         (hover-line (string-to-number (tw-env "TW_HOVER_LINE")))
         (hover-first (tw-env "TW_HOVER_FIRST"))
         (action-prefix (tw-env "TW_ACTION_PREFIX")))
    ;; The set-up docs/editors.md gives, then what `M-x eglot' does with it.
    (add-to-list 'eglot-server-programs `(python-mode . ,command))
    (find-file file)
    (tw-check (eq major-mode 'python-mode) "major mode is %s, not python-mode" major-mode)
    (apply #'eglot (eglot--guess-contact))
    (tw-check (eglot-current-server) "eglot did not connect")
    (tw-log "connected: %S" (process-command (jsonrpc--process (eglot-current-server))))

    ;; 1. The diagnostic, in Emacs' own units: buffer positions.
;; One: the dropped output (TW101), reported once.
    (tw-wait "diagnostics" (lambda () (>= (length eglot--diagnostics) 1)))
    (dolist (d eglot--diagnostics)
      (tw-log "diagnostic %d-%d %s" (flymake-diagnostic-beg d) (flymake-diagnostic-end d)
              (flymake-diagnostic-text d)))
    (tw-check (= (length eglot--diagnostics) 1) "expected one diagnostic, got %d" (length eglot--diagnostics))
    (let* ((diag (seq-find (lambda (d) (equal (plist-get (tw-lsp-diagnostic d) :code) "TW101"))
                           eglot--diagnostics))
           (lsp (tw-lsp-diagnostic diag))
           (beg (save-excursion
                  (tw-goto line)
                  (tw-check (search-forward "layer(x)" (line-end-position) t)
                            "line %d has no `layer(x)': %S" line (thing-at-point 'line t))
                  (match-beginning 0)))
           (end (+ beg (length "layer(x)"))))
      (tw-check (and (= (flymake-diagnostic-beg diag) beg) (= (flymake-diagnostic-end diag) end))
                "diagnostic at buffer positions %d-%d, expected %d-%d (`layer(x)' on line %d)"
                (flymake-diagnostic-beg diag) (flymake-diagnostic-end diag) beg end line)
      (tw-check (equal (plist-get lsp :code) "TW101") "diagnostic code %S, expected TW101" (plist-get lsp :code))
      (tw-check (equal (plist-get lsp :source) "torchwire") "diagnostic source %S" (plist-get lsp :source))
      (tw-check (string-prefix-p message-start (plist-get lsp :message))
                "diagnostic message %S does not start with %S" (plist-get lsp :message) message-start)

      ;; 2. Hover on `self.layers' (point on `layers'), as eglot's eldoc asks for it.
      (tw-goto hover-line)
      (tw-check (search-forward "self.layers" (line-end-position) t)
                "line %d has no `self.layers'" hover-line)
      (goto-char (+ (match-beginning 0) (length "self.")))
      (let* ((hover (jsonrpc-request (eglot--current-server-or-lose) :textDocument/hover
                                     (eglot--TextDocumentPositionParams)))
             (contents (plist-get hover :contents))
             (first (car (split-string (or (plist-get contents :value) "") "\n"))))
        (tw-check (equal (plist-get contents :kind) "plaintext") "hover returned %S" hover)
        (tw-check (equal first hover-first) "hover first line %S, expected %S" first hover-first)
        (tw-log "hover ok: %s" first))

      ;; 3. Code actions at the diagnostic, as `M-x eglot-code-actions' asks for them; apply the
      ;; chosen one with eglot's own WorkspaceEdit machinery, then save.
      (let* ((actions (eglot-code-actions beg end))
             (chosen (seq-find (lambda (a) (string-prefix-p action-prefix (plist-get a :title))) actions)))
        (tw-log "code actions: %S" (mapcar (lambda (a) (plist-get a :title)) actions))
        (tw-check chosen "no code action titled %S... among %S" action-prefix
                  (mapcar (lambda (a) (plist-get a :title)) actions))
        (unless (plist-get chosen :edit)
          (tw-log "resolving %s" (plist-get chosen :title))
          (setq chosen (jsonrpc-request (eglot--current-server-or-lose) :codeAction/resolve chosen))
          (tw-check (plist-get chosen :edit) "codeAction/resolve returned no edit: %S" chosen))
        (eglot--apply-workspace-edit (plist-get chosen :edit))
        (save-buffer)
        (tw-goto line)
        (tw-log "applied and saved: %s" (buffer-substring (line-beginning-position) (line-end-position))))

      ;; 4. The edit went to the server as didChange: the warning goes away.
      (tw-wait "the diagnostics to clear after the edit" (lambda () (null eglot--diagnostics)))
      (tw-log "OK"))))

(let ((ok nil))
  (condition-case err
      (progn (tw-main) (setq ok t))
    (error
     (tw-log "FAIL: %s" (error-message-string err))
     (when-let ((server (ignore-errors (eglot-current-server))))
       (with-current-buffer (jsonrpc-events-buffer server)
         (message "--- last of the eglot events buffer ---\n%s"
                  (buffer-substring-no-properties (max (point-min) (- (point-max) 12000)) (point-max)))))))
  (when-let ((server (ignore-errors (eglot-current-server))))
    (ignore-errors (eglot-shutdown server)))
  (kill-emacs (if ok 0 3)))
